"""check_served (behind `testweb serve --check`): passes on a true server, names each mismatch."""

from wit_pipeline.testweb import SyntheticWeb, WebConfig
from wit_pipeline.testweb.selfcheck import check_served


def test_a_true_server_passes_every_check(fresh_testweb, testweb_web):
    result = check_served(testweb_web, fresh_testweb.origin)
    assert result.problems == []
    assert result.ok
    assert result.checked == len(testweb_web.plan.images) + len(testweb_web.plan.pages)
    assert result.summary_line().startswith(f"checked {result.checked} URLs in ")
    assert result.summary_line().endswith("all as expected")


def test_a_server_of_another_web_fails_with_named_urls(testweb, testweb_config):
    other = SyntheticWeb(WebConfig(**(testweb_config.as_dict() | {"seed": 5})))
    result = check_served(other, testweb.origin)
    assert not result.ok
    assert len(result.problems) > len(other.plan.images) / 2
    assert all(problem.startswith(testweb.origin) for problem in result.problems)
    assert result.summary_line().endswith(f"{len(result.problems)} problems")
