-- paths.lua - bench/cluster.sh: spread wrk's requests over the routes /f1../fN (N = $CLUSTER_FNS); reports like http/stats.lua.
dofile(os.getenv("ROOT") .. "/bench/http/stats.lua")
local n = tonumber(os.getenv("CLUSTER_FNS") or "12")
local i = 0
request = function()
  i = i % n + 1
  return wrk.format("GET", "/f" .. i)
end
