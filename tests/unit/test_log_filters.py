"""Query codes never reach a log line: uvicorn's access log gets the path with the code masked."""

from __future__ import annotations

import logging

from gkflow.web.log_filters import QueryCodeFilter, mask_codes


def test_a_code_in_a_query_string_is_masked_wherever_it_stands():
    assert mask_codes("/status/GK20261207-ABCDEF?code=HG57S6UJ") == "/status/GK20261207-ABCDEF?code=***"
    assert mask_codes("/api/cases/X?lang=zh&code=HG57S6UJ&x=1") == "/api/cases/X?lang=zh&code=***&x=1"
    assert mask_codes("/status?case_no=GK1") == "/status?case_no=GK1"


def test_the_access_log_record_is_masked_before_it_is_formatted():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/status/GK1?code=HG57S6UJ", "1.1", 303), None)
    assert QueryCodeFilter().filter(record)
    assert "HG57S6UJ" not in record.getMessage() and "code=***" in record.getMessage()
