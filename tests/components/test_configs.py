"""Tests for strict dataclass configs from plain data."""

import dataclasses
from typing import Literal

import pytest

from components import configs
from components.errors import BertpipeError


@dataclasses.dataclass(frozen=True)
class Inner:
    steps: int = 10
    rate: float = 0.1
    mode: Literal["a", "b"] = "a"

    def __post_init__(self):
        if self.steps < 0:
            raise BertpipeError(f"steps must be >= 0, got {self.steps}.")


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner = dataclasses.field(default_factory=Inner)
    paths: tuple[str, ...] = ()
    limit: int | None = None
    flag: bool = False


def test_from_dict_builds_nested_config_and_round_trips_json():
    data = {"name": "x", "inner": {"steps": 3, "rate": 1}, "paths": ["a", "b"], "limit": None}
    config = configs.from_dict(Outer, data, source="c.yaml")
    assert config == Outer("x", Inner(3, 1.0), ("a", "b"), None)
    assert configs.from_json(Outer, configs.to_json(config)) == config


@pytest.mark.parametrize(
    "data,message",
    [
        (
            {"name": "x", "inner": {"step": 3}},
            r"unknown key 'inner.step' in c.yaml; did you mean "
            r"'inner.steps'\?",
        ),
        ({}, r"missing required key 'name' in c.yaml"),
        (
            {"name": "x", "inner": {"steps": "3"}},
            r"'inner.steps' in c.yaml must be an integer, "
            r"got '3'",
        ),
        ({"name": "x", "flag": 1}, r"'flag' in c.yaml must be true or false"),
        (
            {"name": "x", "inner": {"mode": "c"}},
            r"'inner.mode' in c.yaml must be one of \['a', "
            r"'b'\], got 'c'",
        ),
        ({"name": "x", "paths": "a"}, r"'paths' in c.yaml must be a list"),
        ({"name": "x", "inner": {"steps": -1}}, r"inner of c.yaml: steps must be >= 0, got -1"),
        (["x"], r"the top level of c.yaml must be a mapping"),
    ],
)
def test_from_dict_names_the_key_and_file(data, message):
    with pytest.raises(BertpipeError, match=message):
        configs.from_dict(Outer, data, source="c.yaml")


def test_overrides_merge_into_file_data():
    base = {"name": "x", "inner": {"steps": 3, "rate": 0.5}}
    update = configs.parse_overrides(["inner.steps=7", "paths=[p, q]", "flag=true"])
    config = configs.from_dict(Outer, configs.merge(base, update), source="--set")
    assert config == Outer("x", Inner(7, 0.5), ("p", "q"), None, True)


def test_malformed_override_is_rejected():
    with pytest.raises(BertpipeError, match=r"--set 'inner.steps' must look like key=value"):
        configs.parse_overrides(["inner.steps"])


def test_load_file_reports_yaml_position(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ninner: {steps: 3\n")
    with pytest.raises(BertpipeError, match=r"bad.yaml line \d+, column \d+ is not valid YAML"):
        configs.load_file(str(path))


@pytest.mark.parametrize(
    "check,args,message",
    [
        (configs.check_int, (3, 5), r"^Owner.n must be an integer >= 5; got 3\.$"),
        (configs.check_int, (True, 0), r"^Owner.n must be an integer >= 0; got True\.$"),
        (configs.check_int, (11, 1, 10), r"^Owner.n must be an integer in \[1, 10\]; got 11\.$"),
        (configs.check_number, ("1", 0), r"^Owner.n must be a number >= 0; got '1'\.$"),
        (configs.check_number, (-0.5, 0.0), r"^Owner.n must be a number >= 0.0; got -0.5\.$"),
        (configs.check_number, (1.5, 0, 1), r"^Owner.n must be a number in \[0, 1\]; got 1.5\.$"),
        (
            configs.check_choice,
            ("c", ("a", "b")),
            r"^Owner.n must be one of \['a', 'b'\]; got 'c'\.$",
        ),
        (configs.check_bool, ("yes",), r"^Owner.n must be true or false; got 'yes'\.$"),
    ],
)
def test_check_rejects_with_the_range_and_the_value(check, args, message):
    with pytest.raises(BertpipeError, match=message):
        check("Owner", "n", *args)


@pytest.mark.parametrize(
    "kwargs,value,message",
    [
        ({"low_open": True}, 0.0, r"^n must be a number in \(0.0, 1.0\]; got 0.0\.$"),
        ({"high_open": True}, 1.0, r"^n must be a number in \[0.0, 1.0\); got 1.0\.$"),
    ],
)
def test_check_number_open_bounds_exclude_the_bound_without_an_owner(kwargs, value, message):
    with pytest.raises(BertpipeError, match=message):
        configs.check_number("", "n", value, 0.0, 1.0, **kwargs)


def test_checks_accept_values_on_closed_bounds():
    configs.check_int("Owner", "n", 10, 1, 10)
    configs.check_number("Owner", "n", 0, 0.0, 1.0)
    configs.check_number("Owner", "n", 0.5, 0.0, 1.0, low_open=True, high_open=True)
    configs.check_choice("Owner", "n", "a", ("a", "b"))
    configs.check_bool("Owner", "n", False)
