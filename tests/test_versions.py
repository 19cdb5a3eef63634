"""helpers.versions: a clear, loud message where a claim needs a newer PyTorch."""
import pytest

from helpers import versions
from helpers.checks import CheckFailed


def test_releases_compare_as_numbers_not_strings():
    assert versions.torch_at_least("2.6", current="2.13.0")  # "2.13" < "2.6" as strings
    assert not versions.torch_at_least("2.6", current="2.5.1+cu124")
    assert versions.torch_at_least("2.6.0", current="2.6")


def test_too_old_is_a_failed_check_that_names_both_versions(monkeypatch):
    monkeypatch.setattr(versions.torch, "__version__", "2.5.1+cu124")
    expected = r"needs torch 2\.6 or newer \(weights_only=True default\); this is torch 2\.5\.1"
    with pytest.raises(CheckFailed, match=expected):
        versions.requires_torch("2.6", "weights_only=True default")


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="expected a release such as"):
        versions.torch_at_least("latest")
    with pytest.raises(TypeError, match="feature must say"):
        versions.requires_torch("2.1", "")
