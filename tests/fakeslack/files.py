"""Files: the files_upload_v2 steps, files.info, and private downloads that need the bot token."""

from __future__ import annotations

import json
import mimetypes
import secrets
import time
from typing import Any
from urllib.parse import quote

from tests.fakeslack.core import FakeCore
from tests.fakeslack.protocol import (
    HTML_TYPE,
    TEXT_TYPE,
    Call,
    Reply,
    SlackError,
    api,
    invalid,
    parse_multipart,
    route,
)

_PRETTY = {"markdown": "Markdown (raw)", "text": "Plain Text", "pdf": "PDF", "binary": "Binary"}
_MIME = {"markdown": "text/markdown", "text": "text/plain", "pdf": "application/pdf"}
_SIGNIN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Fake Team</body></html>"


class FileMethods(FakeCore):
    def _clear_state(self) -> None:
        super()._clear_state()
        self.files: dict[str, dict[str, Any]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> pending upload
        self._upload_tokens: dict[str, str] = {}  # upload URL token -> file id

    def add_file(
        self, name: str, content: bytes, *, filetype: str = "markdown", user: str = "UOWNER",
        title: str | None = None, mimetype: str | None = None,
    ) -> str:
        """A file a person shared (e.g. through a modal's file_input); returns its id for files.info."""
        with self._lock:
            file_id = self._new_id("F")
            self.files[file_id] = {
                "id": file_id, "filename": name, "title": title or name, "content": content, "user": user,
                "filetype": filetype, "mimetype": mimetype or _MIME.get(filetype) or "application/octet-stream",
                "channel_id": None, "channels": [], "thread_ts": None, "initial_comment": None,
                "permalink": f"https://fake.slack.com/files/{user}/{file_id}/{name}", "created": int(time.time()),
            }
            return file_id

    def _file_object(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A file as files.info shows it; the private URLs point at this server."""
        file_id, name = stored["id"], stored["filename"]
        filetype = stored.get("filetype") or (name.rsplit(".", 1)[-1] if "." in name else "binary")
        private = f"{self.root_url}/files-pri/{self.team_id}-{file_id}/{quote(name)}"
        return {
            "id": file_id, "created": stored.get("created", 0), "timestamp": stored.get("created", 0),
            "name": name, "title": stored["title"],
            "mimetype": stored.get("mimetype") or mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": filetype, "pretty_type": _PRETTY.get(filetype, filetype), "user": stored.get("user"),
            "user_team": self.team_id, "mode": "hosted", "is_external": False, "is_public": False,
            "size": len(stored["content"]), "url_private": private,
            "url_private_download": f"{self.root_url}/files-pri/{self.team_id}-{file_id}/download/{quote(name)}",
            "permalink": stored["permalink"], "channels": list(stored.get("channels") or []),
        }

    @api("files.info")
    def _files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(p.get("file")))
        if stored is None:
            raise SlackError("file_not_found")
        return {"file": self._file_object(stored), "comments": [], "response_metadata": {"next_cursor": ""}}

    @route("/files-pri/")
    def _download(self, verb: str, path: str, query: str, body: bytes, headers: dict[str, str],
                  at: float) -> Reply:
        """GET url_private(_download): the bytes with the bot token, else a redirect to the sign-in page,
        as Slack does (a client that follows it gets HTML with status 200, not the file)."""
        file_id = path.split("/")[2].rsplit("-", 1)[-1]
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        params = {"file": file_id, "path": path}
        with self._lock:
            stored = self.files.get(file_id)
        if auth != f"Bearer {self.token}":
            location = f"{self.root_url}/signin?redir={quote(path)}"
            call = Call("files.download", params, headers, {"ok": False, "error": "redirect_to_signin"}, at)
            return Reply(call, 302, {"Location": location}, b"", HTML_TYPE)
        if stored is None:
            call = Call("files.download", params, headers, {"ok": False, "error": "file_not_found"}, at)
            return Reply(call, 404, {}, b"File not found", TEXT_TYPE)
        call = Call("files.download", params, headers, {"ok": True, "size": len(stored["content"])}, at)
        ctype = self._file_object(stored)["mimetype"]
        return Reply(call, 200, {}, stored["content"], ctype)

    @route("/signin")
    def _signin(self, verb: str, path: str, query: str, body: bytes, headers: dict[str, str],
                at: float) -> Reply:
        call = Call("signin", {"query": query}, headers, {"ok": True}, at)
        return Reply(call, 200, {}, _SIGNIN_PAGE, HTML_TYPE)

    # ---- files_upload_v2 -------------------------------------------------------------------------
    @api("files.upload")
    def _files_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("method_deprecated")

    @api("files.getUploadURLExternal")
    def _files_get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = p.get("filename")
        try:
            length = int(p.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            length = -1
        if not filename or length <= 0:
            raise invalid("invalid_arguments", ["`filename` and a positive `length` are required"])
        file_id, token = self._new_id("F"), secrets.token_urlsafe(12)
        self._uploads[file_id] = {"filename": filename, "length": length, "content": None}
        self._upload_tokens[token] = file_id
        return {"upload_url": f"{self.root_url}/upload/v1/{token}", "file_id": file_id}

    @api("files.completeUploadExternal")
    def _files_complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = p.get("files")
        if isinstance(entries, str):
            try:
                entries = json.loads(entries)
            except ValueError as exc:
                raise invalid("invalid_arguments", ["`files` must be a JSON array"]) from exc
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise invalid("invalid_arguments", ["`files` must be a non-empty array of {id, title}"])
        for entry in entries:
            upload = self._uploads.get(str(entry.get("id")))
            if upload is None or upload["content"] is None:
                raise SlackError("file_not_found")
        channel_id = p.get("channel_id")
        targets = [channel_id] if channel_id else [c for c in str(p.get("channels") or "").split(",") if c]
        channels = [self._resolve_channel(c, need_member=True) for c in targets]
        done = []
        for entry in entries:
            file_id = str(entry["id"])
            upload = self._uploads.pop(file_id)
            permalink = f"https://fake.slack.com/files/{self.bot_user_id}/{file_id}/{upload['filename']}"
            title = entry.get("title") or upload["filename"]
            self.files[file_id] = {
                "id": file_id, "filename": upload["filename"], "title": title, "content": upload["content"],
                "channel_id": channels[0] if channels else None, "channels": channels,
                "thread_ts": p.get("thread_ts"), "initial_comment": p.get("initial_comment"),
                "permalink": permalink, "user": self.bot_user_id, "created": int(time.time()),
            }
            done.append({"id": file_id, "title": title, "name": upload["filename"], "permalink": permalink,
                         "size": len(upload["content"])})
        return {"files": done}

    @route("/upload/")
    def _upload(self, verb: str, path: str, query: str, body: bytes, headers: dict[str, str],
                at: float) -> Reply:
        """The raw upload step of files_upload_v2 (slack_sdk POSTs the bytes with no auth)."""
        content = body
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if ctype.lower().startswith("multipart/form-data"):
            fields, files = parse_multipart(body, ctype)
            content = next(iter(files.values())) if files else fields.get("file", "").encode()
        with self._lock:
            file_id = self._upload_tokens.get(path.rsplit("/", 1)[-1])
            upload = self._uploads.get(file_id or "")
            params = {"file_id": file_id, "filename": upload and upload["filename"], "content": content}
            status, text = self._plain_failure("files.upload_bytes") or (200, "")
            if status == 200 and upload is None:
                status, text = 404, "not_found"
            if status == 200:
                upload["content"] = content  # type: ignore[index]
                text = f"OK - {len(content)}"  # what files.slack.com answers
        response = {"ok": True, "body": text} if status == 200 else {"ok": False, "error": text}
        return Reply(Call("files.upload_bytes", params, headers, response, at), status, {}, text.encode(), TEXT_TYPE)
