-- stats.lua - wrk report hook for bench/http.sh: requests/s, errors and latency percentiles, one fact per line.
-- Latency values are microseconds, as wrk keeps them.
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("rps %.2f\n", summary.requests / secs))
  io.write(string.format("requests %d\n", summary.requests))
  -- socket errors (connect, read, write, timeout) and non-2xx/3xx answers
  io.write(string.format("errors %d %d\n", e.connect + e.read + e.write + e.timeout, e.status))
  for _, p in ipairs({1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9}) do
    io.write(string.format("pct %g %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("pct 100 %d\n", latency.max))
end
