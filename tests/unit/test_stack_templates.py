"""Every settings template in stack/etc/ fills with the values the stack gives it.

`stack/parts.fill` is `string.Template.substitute`, which raises KeyError on a `$name` nobody gives,
and ValueError on a malformed placeholder; without this test that surfaces only in `make up`, when
a part fails to start. The values come from where the stack takes them (`engines.engine_settings`,
`apps.route_settings`, `apps.upstream_settings`, `apps.gateway_settings`) and fill()'s own defaults; nothing is written.
"""

from __future__ import annotations

from string import Template

import pytest

from chassis import local
from monitoring import local_stack
from stack import apps, engines, parts

TEMPLATES = sorted(p.name.removesuffix(".tmpl") for p in parts.TEMPLATES.glob("*.tmpl"))
DEFAULTS = {"run", "logs", "data", "plugins"}  # what fill() adds to every template


def given(template: str) -> list[dict[str, object]]:
    """Each set of values the stack fills `template` with (nginx-route and nginx-upstream: one per service)."""
    if template in engines.engine_settings():
        return [engines.engine_settings()[template]]
    if template == "nginx-route":
        return [apps.route_settings(s) for s in local.SERVICES]
    if template == "nginx-upstream":
        return [apps.upstream_settings(s) for s in local.SERVICES]
    if template == "nginx.conf":
        return [apps.gateway_settings()]
    raise AssertionError(f"stack/etc/{template}.tmpl: the stack fills it with values this test does not know; "
                         "give them a function like engines.engine_settings() and use it here")


def test_there_are_templates() -> None:
    assert {"kafka.properties", "connect.properties", "nginx.conf", "postgresql.conf"} <= set(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_fills_with_what_the_stack_gives_it(template: str) -> None:
    placeholders = set(Template((parts.TEMPLATES / f"{template}.tmpl").read_text()).get_identifiers())
    for values in given(template):
        try:
            text = parts.fill(template, **values)
        except KeyError as missing:
            pytest.fail(f"stack/etc/{template}.tmpl uses ${missing.args[0]}, which the stack does not give it")
        assert text.strip()
        unused = set(values) - placeholders
        assert not unused, f"the stack gives stack/etc/{template}.tmpl values it never uses: {sorted(unused)}"
    assert placeholders - DEFAULTS <= set().union(*given(template))


def test_a_missing_value_is_a_key_error() -> None:
    """What the test above relies on: fill() names the placeholder nobody gave."""
    with pytest.raises(KeyError, match="kafka_port"):
        parts.fill("kafka.properties", controller_port=9093)


def test_prometheus_config_renders_with_the_stack_ports(tmp_path) -> None:
    """The monitoring's template (monitoring/prometheus/prometheus.yml.tmpl), filled the same way."""
    config = local_stack.render_config(tmp_path).read_text()
    assert not [line for line in config.splitlines() if "$" in line and not line.lstrip().startswith("#")]
    for port in (local.service_port("orders"), local.processor_port("orders_saga"), local.KAFKA_JMX_PORT,
                 local.CONNECT_JMX_PORT, local.EXPORTER_PORT, local.PROMETHEUS_PORT):
        assert f"127.0.0.1:{port}" in config
