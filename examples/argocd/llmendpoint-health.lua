-- Argo CD health check for llmoperator.io/LLMEndpoint (the single source: the
-- argocd-cm snippet next to this file embeds exactly this text).
-- Healthy: Ready is True for the current generation.
-- Progressing: no status yet, the operator has not seen the current generation,
--   a guarded rollout is in progress (status.rollout), or SageMaker is creating,
--   updating or deleting.
-- Degraded: phase Failed, or a Degraded condition that is True (with its message).
local hs = {}
local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the resource"
  return hs
end

local status = obj.status
local conditions = {}
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type ~= nil then
      conditions[condition.type] = condition
    end
  end
end

local function describe(condition, fallback)
  if condition ~= nil and condition.message ~= nil and condition.message ~= "" then
    if condition.reason ~= nil and condition.reason ~= "" then
      return condition.reason .. ": " .. condition.message
    end
    return condition.message
  end
  return fallback
end

if status.observedGeneration == nil or status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation)
  return hs
end

local phase = status.phase or ""
local degraded = conditions["Degraded"]
if phase == "Failed" then
  hs.status = "Degraded"
  local message = status.failureReason
  if message == nil or message == "" then
    message = describe(degraded, "SageMaker reports the endpoint as Failed")
  end
  hs.message = message
  return hs
end
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded, "Degraded")
  return hs
end

-- A guarded rollout serves the previous version (Ready stays True) until it ends.
local rollout = status.rollout
if rollout ~= nil and (rollout.phase == "InProgress" or rollout.phase == "Baking") then
  hs.status = "Progressing"
  local step = ""
  if rollout.step ~= nil and rollout.step ~= "" then
    step = " [" .. rollout.step .. "]"
  end
  hs.message = "Rolling out generation " .. tostring(rollout.generation) .. step
  if rollout.message ~= nil and rollout.message ~= "" then
    hs.message = hs.message .. ": " .. rollout.message
  end
  return hs
end

local ready = conditions["Ready"]
if phase ~= "Deleting" and ready ~= nil and ready.status == "True"
    and (ready.observedGeneration == nil or ready.observedGeneration >= generation) then
  hs.status = "Healthy"
  hs.message = describe(ready, "InService")
  return hs
end

hs.status = "Progressing"
local progressing = conditions["Progressing"]
if phase ~= "" then
  hs.message = describe(progressing, phase)
else
  hs.message = describe(progressing, "Waiting for SageMaker")
end
return hs
