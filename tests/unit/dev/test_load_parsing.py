"""Reading wrk's report: the benchmark's numbers come from here."""

from __future__ import annotations

import pytest

from scrm.load import parse_wrk

# A real report's shape; the Req/Sec line's last column ends in "50%", which once passed for the median.
REPORT = """Running 8s test @ http://127.0.0.1:40123/wechat/wx
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.21ms    2.04ms  41.20ms   88.10%
    Req/Sec     3.07k   211.33     3.52k    72.50%
  Latency Distribution
     50%    5.07ms
     75%    5.90ms
     90%    7.13ms
     99%    1.02s
  49012 requests in 8.01s, 6.45MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:   6118.61
Transfer/sec:    824.10KB
"""


def test_a_wrk_report_gives_rate_percentiles_and_errors() -> None:
    result = parse_wrk(REPORT)
    assert result.requests_per_second == pytest.approx(6118.61)
    assert result.requests == 49012
    assert result.p50_ms == pytest.approx(5.07)
    assert result.p99_ms == pytest.approx(1020.0)
    assert result.errors == 5


def test_latencies_in_microseconds_and_minutes_convert_to_milliseconds() -> None:
    report = REPORT.replace("5.07ms", "812.00us").replace("1.02s", "1.50m")
    result = parse_wrk(report)
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(90_000.0)


def test_an_unexpected_latency_is_reported_not_guessed() -> None:
    with pytest.raises(ValueError, match="unexpected wrk latency"):
        parse_wrk(REPORT.replace("5.07ms", "soon"))
