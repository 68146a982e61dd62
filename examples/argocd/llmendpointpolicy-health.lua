-- Argo CD health check for llmoperator.io/LLMEndpointPolicy (the argocd-cm snippet
-- next to this file embeds exactly this text).
-- Progressing: the operator has not written status for the current generation yet.
-- Degraded: status.problems is not empty (a selector matching no namespace, a
--   default conflicting with another policy's, a spec the operator cannot read).
-- Healthy: otherwise, with the governed namespaces and those with refusals.
local hs = {}
local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status
if status == nil or status.observedGeneration == nil or status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to read the policy"
  return hs
end
if status.problems ~= nil and #status.problems > 0 then
  hs.status = "Degraded"
  hs.message = table.concat(status.problems, "; ")
  return hs
end
local governed = status.governed or 0
local refused = 0
if status.namespaces ~= nil then
  for _, ns in ipairs(status.namespaces) do
    refused = refused + (ns.refused or 0)
  end
end
hs.status = "Healthy"
hs.message = "Governs " .. governed .. " namespace(s); " .. refused .. " LLMEndpoint(s) refused"
return hs
