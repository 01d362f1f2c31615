"""Templates fail on a name no view passed them (a typo, a forgotten variable): StrictUndefined for names.

A missing key or attribute of a value that does exist stays lenient, as Jinja's default Undefined:
the GOV.UK Frontend macros read their optional parameters that way (`params.classes`, `params.hint`),
and an inline `x if y` without `else` is empty. Only a name looked up in the template's context that
is not there raises, and so fails the page's test. `undefined` and `null` are Nunjucks literals the
GOV.UK macros use as values ("no describedBy", `not in [undefined, null]`): they stay ordinary Undefined.
"""

from __future__ import annotations

from jinja2 import Undefined
from jinja2.utils import missing

LENIENT_NAMES = frozenset({"undefined", "null"})


class StrictNamesUndefined(Undefined):
    __slots__ = ()

    def _strict(self) -> bool:
        return (
            self._undefined_obj is missing
            and self._undefined_hint is None
            and self._undefined_name not in LENIENT_NAMES
        )

    def _check(self) -> None:
        if self._strict():
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._check()
        return super().__str__()

    def __iter__(self):
        self._check()
        return super().__iter__()

    def __len__(self) -> int:
        self._check()
        return super().__len__()

    def __bool__(self) -> bool:
        self._check()
        return super().__bool__()

    def __eq__(self, other) -> bool:
        self._check()
        return super().__eq__(other)

    def __ne__(self, other) -> bool:
        self._check()
        return super().__ne__(other)

    def __hash__(self) -> int:
        self._check()
        return super().__hash__()

    def __contains__(self, item) -> bool:
        self._check()
        return False
