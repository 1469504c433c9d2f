"""users' rules without I/O."""

import pytest
from pydantic import ValidationError

from apis.users import domain
from apis.users.schemas import ProfilePatch


def test_etags_are_versions() -> None:
    assert domain.etag(3) == '"3"'
    assert domain.version_from_if_match('"3"') == 3
    assert domain.version_from_if_match('W/"7"') == 7
    for bad in (None, "", "*", "3", '"three"'):
        assert domain.version_from_if_match(bad) is None


def test_a_patch_must_change_something_and_cannot_remove_the_name() -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        ProfilePatch()
    with pytest.raises(ValidationError, match="name cannot be removed"):
        ProfilePatch(name=None)
    assert ProfilePatch(phone=None).model_dump(exclude_unset=True) == {"phone": None}
