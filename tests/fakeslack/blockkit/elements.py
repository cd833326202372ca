"""Block Kit rules for interactive elements, options and confirm dialogs."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.fakeslack.blockkit.checker import (
    _DATE_RE,
    _ELEMENT_FIELDS,
    _MULTI_SELECTS,
    _TIME_RE,
    CheckerBase,
)


class ElementChecker(CheckerBase):
    """Rules for elements (buttons, selects, inputs, pickers), their options and confirm dialogs."""

    def image(self, obj: dict[str, Any], ptr: str) -> None:
        """An image block or element: a URL or a slack_file, and alt text."""
        if "image_url" not in obj and "slack_file" not in obj:
            self.err(ptr, "must provide either `image_url` or `slack_file`")
        self.string(obj, "image_url", ptr, 3000)
        self.string(obj, "alt_text", ptr, 2000, required=True)

    def element(self, el: Any, ptr: str, allowed: set[str], action_ids: set[str]) -> None:
        if not isinstance(el, dict):
            self.err(ptr, "must be an object")
            return
        kind = el.get("type")
        if kind is None:
            self.err(ptr, "missing required field: type")
            return
        if kind not in allowed or kind not in _ELEMENT_FIELDS:
            self.err(f"{ptr}/type", f"unsupported type: {kind}")
            return
        self.props(el, {"type"} | _ELEMENT_FIELDS[kind], ptr)
        action_id = el.get("action_id")
        if action_id is not None:
            self.string(el, "action_id", ptr, 255)
            # Slack wants action_ids unique within their block, not across the whole surface.
            if isinstance(action_id, str) and action_id in action_ids:
                self.err(f"{ptr}/action_id", f"duplicate action_id: {action_id}")
            action_ids.add(str(action_id))
        if "confirm" in el:
            self.confirm(el["confirm"], f"{ptr}/confirm")
        if "placeholder" in el:
            self.text(el, "placeholder", ptr, 150, plain=True)

        if kind in ("button", "workflow_button"):
            self.text(el, "text", ptr, 75, plain=True)
            self.string(el, "value", ptr, 2000)
            self.string(el, "url", ptr, 3000)
            self.string(el, "accessibility_label", ptr, 75)
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.err(f"{ptr}/style", "must be one of: primary, danger")
            if kind == "workflow_button" and "workflow" not in el:
                self.err(ptr, "missing required field: workflow")
        elif kind == "image":
            self.image(el, ptr)
        elif kind in ("static_select", "multi_static_select"):
            self.static_options(el, ptr, multi=kind.startswith("multi_"))
        elif kind in ("external_select", "multi_external_select"):
            if "initial_option" in el:
                self.option(el["initial_option"], f"{ptr}/initial_option", plain=True)
            for i, opt in enumerate(self.items(el, "initial_options", ptr, 0, 100, required=False)):
                self.option(opt, f"{ptr}/initial_options/{i}", plain=True)
        elif kind == "overflow":
            for i, opt in enumerate(self.items(el, "options", ptr, 2, 5)):
                self.option(opt, f"{ptr}/options/{i}", plain=True, url=True)
        elif kind in ("checkboxes", "radio_buttons"):
            options = self.items(el, "options", ptr, 1, 10)
            for i, opt in enumerate(options):
                self.option(opt, f"{ptr}/options/{i}", plain=False)
            self.initial_choices(el, ptr, options)
        elif kind == "datepicker":
            self.date(el.get("initial_date"), f"{ptr}/initial_date")
        elif kind == "timepicker":
            initial = el.get("initial_time")
            if initial is not None and not (isinstance(initial, str) and _TIME_RE.match(initial)):
                self.err(f"{ptr}/initial_time", "must be a time in HH:mm format")
        elif kind == "datetimepicker":
            initial = el.get("initial_date_time")
            if initial is not None and (not isinstance(initial, int) or isinstance(initial, bool)):
                self.err(f"{ptr}/initial_date_time", "must be an integer UNIX timestamp")
        elif kind == "plain_text_input":
            self.text_input_lengths(el, ptr)
        elif kind == "number_input":
            if not isinstance(el.get("is_decimal_allowed"), bool):
                self.err(ptr, "missing required field: is_decimal_allowed")
        elif kind == "file_input":
            max_files = el.get("max_files")
            if max_files is not None and not (isinstance(max_files, int) and 1 <= max_files <= 10):
                self.err(f"{ptr}/max_files", "must be between 1 and 10")
        if kind in _MULTI_SELECTS:
            max_items = el.get("max_selected_items")
            if max_items is not None and not (isinstance(max_items, int) and max_items >= 1):
                self.err(f"{ptr}/max_selected_items", "must be at least 1")

    def static_options(self, el: dict[str, Any], ptr: str, *, multi: bool) -> None:
        if ("options" in el) == ("option_groups" in el):
            self.err(ptr, "must provide exactly one of `options` or `option_groups`")
            return
        options: list[Any] = []
        if "options" in el:
            options = self.items(el, "options", ptr, 1, 100)
            for i, opt in enumerate(options):
                self.option(opt, f"{ptr}/options/{i}", plain=True)
        else:
            for g, group in enumerate(self.items(el, "option_groups", ptr, 1, 100)):
                gptr = f"{ptr}/option_groups/{g}"
                if not isinstance(group, dict):
                    self.err(gptr, "must be an object")
                    continue
                self.props(group, {"label", "options"}, gptr)
                self.text(group, "label", gptr, 75, plain=True)
                group_options = self.items(group, "options", gptr, 1, 100)
                for i, opt in enumerate(group_options):
                    self.option(opt, f"{gptr}/options/{i}", plain=True)
                options.extend(group_options)
        self.initial_choices(el, ptr, options)

    def initial_choices(self, el: dict[str, Any], ptr: str, options: list[Any]) -> None:
        """initial_option(s) must be among the options, as Slack checks."""
        keys = {_option_key(o) for o in options}
        chosen: list[tuple[str, Any]] = []
        if "initial_option" in el:
            chosen.append(("initial_option", el["initial_option"]))
        if isinstance(el.get("initial_options"), list):
            chosen += [(f"initial_options/{i}", o) for i, o in enumerate(el["initial_options"])]
        for where, opt in chosen:
            if _option_key(opt) not in keys:
                self.err(f"{ptr}/{where}", "must match one of the provided options")

    def option(self, opt: Any, ptr: str, *, plain: bool, url: bool = False) -> None:
        if not isinstance(opt, dict):
            self.err(ptr, "must be an object")
            return
        self.props(opt, {"text", "value", "description"} | ({"url"} if url else set()), ptr)
        self.text(opt, "text", ptr, 75, plain=plain)
        self.string(opt, "value", ptr, 150, required=True)
        self.text(opt, "description", ptr, 75, plain=plain, required=False)
        self.string(opt, "url", ptr, 3000)

    def confirm(self, confirm: Any, ptr: str) -> None:
        if not isinstance(confirm, dict):
            self.err(ptr, "must be an object")
            return
        self.props(confirm, {"title", "text", "confirm", "deny", "style"}, ptr)
        self.text(confirm, "title", ptr, 100, plain=True)
        self.text(confirm, "text", ptr, 300)
        self.text(confirm, "confirm", ptr, 30, plain=True)
        self.text(confirm, "deny", ptr, 30, plain=True)

    def date(self, value: Any, ptr: str) -> None:
        if value is None:
            return
        try:
            ok = isinstance(value, str) and bool(_DATE_RE.match(value)) and bool(date.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            self.err(ptr, "must be a date in YYYY-MM-DD format")

    def text_input_lengths(self, el: dict[str, Any], ptr: str) -> None:
        lo, hi = el.get("min_length"), el.get("max_length")
        if lo is not None and not (isinstance(lo, int) and 0 <= lo <= 3000):
            self.err(f"{ptr}/min_length", "must be between 0 and 3000")
        if hi is not None and not (isinstance(hi, int) and 1 <= hi <= 3000):
            self.err(f"{ptr}/max_length", "must be between 1 and 3000")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            self.err(f"{ptr}/min_length", "must not be greater than max_length")
        initial = el.get("initial_value")
        if isinstance(initial, str) and isinstance(hi, int) and len(initial) > hi:
            self.err(f"{ptr}/initial_value", f"must be less than {hi + 1} characters")


def _option_key(opt: Any) -> tuple[Any, Any]:
    if not isinstance(opt, dict):
        return (None, None)
    text = opt.get("text")
    return (opt.get("value"), text.get("text") if isinstance(text, dict) else text)

