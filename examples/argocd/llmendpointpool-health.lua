-- Argo CD health check for llmoperator.io/LLMEndpointPool (the argocd-cm snippet
-- next to this file embeds exactly this text).
-- Progressing: no status for the current generation yet, the endpoint is not
--   serving yet (Ready False without Degraded), or a change of instance type rolls out.
-- Degraded: a Degraded condition that is True (with its message), e.g. a deletion
--   held while models are placed on the pool, or an instance type the placed models
--   do not fit (ModelsDoNotFit) or SageMaker rolled back.
-- Healthy: Ready True, with the instances and models placed.
local hs = {}
local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status
if status == nil or status.observedGeneration == nil or status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the pool"
  return hs
end
local ready = nil
if status.conditions ~= nil then
  for _, c in ipairs(status.conditions) do
    if c.type == "Degraded" and c.status == "True" then
      hs.status = "Degraded"
      hs.message = c.message or c.reason or "Degraded"
      return hs
    end
    if c.type == "Ready" then
      ready = c
    end
  end
end
local rollout = status.rollout
if rollout ~= nil and (rollout.phase == "InProgress" or rollout.phase == "Baking") then
  hs.status = "Progressing"
  hs.message = "Rolling out instance type " .. (rollout.toInstanceType or "?") .. ": " .. (rollout.message or "")
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "Instances " .. (status.instancesSummary or "?") .. "; " .. (status.modelsCount or 0) .. " model(s) placed"
  return hs
end
hs.status = "Progressing"
if ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
else
  hs.message = "Waiting for the pool's endpoint"
end
return hs
