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


def _number_words(field: forms.Field) -> str:
    """What a number field takes, in words: "a whole number from 0 to 100,000"."""
    # (Django's DecimalField is an IntegerField)
    kind = "an amount" if isinstance(field, forms.DecimalField) else "a whole number"
    low = getattr(field, "min_value", None)
    high = getattr(field, "max_value", None)
    if low is not None and high is not None:
        return f"{kind} from {low:,} to {high:,}"
    if low is not None:
        return f"{kind} of {low:,} or more"
    if high is not None:
        return f"{kind} of {high:,} or less"
    return kind


def _plain_messages(field: forms.Field) -> dict[str, str]:
    """Messages that say what to type, for the limits Django words as "Ensure this value...".
    The limit's own message code is what Django looks up on the field first."""
    label = str(field.label).lower() if field.label else "it"
    if isinstance(field, (forms.IntegerField, forms.DecimalField)):
        enter = f"Enter {_number_words(field)}."
        messages = {"min_value": enter, "max_value": enter, "step_size": enter}
        if isinstance(field, forms.DecimalField):
            places = field.decimal_places or 0
            messages["max_decimal_places"] = (
                f"Use at most {places} decimal{'s' if places != 1 else ''}.")
            if field.max_digits is not None:
                whole = field.max_digits - places
                messages["max_digits"] = messages["max_whole_digits"] = (
                    f"Enter an amount below {10 ** whole:,}.")
        return messages
    if isinstance(field, forms.CharField):
        return {
            "max_length": f"Shorten {label} to %(limit_value)d characters or fewer "
                          "(this has %(show_value)d).",
            "min_length": f"Make {label} at least %(limit_value)d characters long "
                          "(this has %(show_value)d).",
        }
    return {}


class PlainForm(forms.Form):
    """A form whose limit errors say what to type ("Enter a whole number from 0 to 100,000.")
    instead of Django's "Ensure this value is greater than or equal to 0."; a field's own
    message for a code wins."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for code, message in _plain_messages(field).items():
                field.error_messages.setdefault(code, message)
