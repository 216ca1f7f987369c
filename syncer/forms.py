"""Form fields shared by the apps' forms."""

from typing import Any

from django import forms

TRUE_VALUES = frozenset({"on", "true", "1"})
FALSE_VALUES = frozenset({"off", "false", "0", ""})


def strict_boolean(value: Any) -> bool | None:
    """True or False for what a checkbox (or a script) may send; None for anything else.
    Absent (an unticked checkbox) is False."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
    return None


class StrictCheckboxInput(forms.CheckboxInput):
    """A checkbox that hands the field what was sent: Django's own turns any text but
    "false" into True, so `enabled=maybe` would switch a setting on."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, check_test=lambda value: strict_boolean(value) is True)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class StrictBooleanField(forms.Field):
    """On or off: "on", "true" or "1" is on; absent, "", "off", "false" or "0" is off;
    anything else is a field error, never a guess."""

    widget = StrictCheckboxInput
    default_error_messages = {"invalid": "Choose on or off."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)  # off is an answer, not a missing one
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool:
        parsed = strict_boolean(value)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed

    def validate(self, value: Any) -> None:
        """Both answers are valid; `required` only means it must be on (as BooleanField)."""
        if self.required and value is not True:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def prepare_value(self, value: Any) -> Any:
        parsed = strict_boolean(value)
        return value if parsed is None else parsed

    def has_changed(self, initial: Any, data: Any) -> bool:
        return strict_boolean(initial) != strict_boolean(data)
