-- wrk script for bench/cds.sh: POSTs one CDS Hooks patient-view request with prefetch.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("CDS_BODY"), "r"))
wrk.body = f:read("*a")
f:close()

-- wrk counts answers above 399 in summary.errors.status, so a broken service cannot pass for a
-- fast one.
function done(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", summary.errors.status))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
end
