"""apply.http: online submissions per second through the app — each one a case (POST /api/cases, as
a partner platform with a bearer token) and two 200 KB files (POST /api/cases/{no}/materials with the
query code: sniffed, hashed, stored, chained) — against a bare FastAPI endpoint pair that parses the
same JSON and the same multipart upload and does nothing else, measured the same way in the same run.
Closed loop: CLIENTS threads, each sending its next submission when the last one answered."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from bench.common import figure
from bench.uvicorn import serve

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
DURATION_S = float(os.environ.get("GKFLOW_BENCH_APPLY_S", "15"))
WARMUP_S = 3.0
FILE_BYTES = 200 * 1024
MATERIAL = "申请人身份证明（身份证、营业执照等）"


def _files() -> tuple[bytes, bytes]:
    pdf = b"%PDF-1.4\n" + os.urandom(FILE_BYTES - 20) + b"\n%%EOF\n"
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + os.urandom(FILE_BYTES - 22)
        + b"\xff\xd9"
    )
    return pdf, jpeg


def bare_app():  # type: ignore[no-untyped-def]
    """The ceiling: JSON in, multipart in, nothing stored."""
    app = FastAPI()

    @app.post("/api/cases", status_code=201)
    async def submit(request: Request) -> dict[str, str]:
        body = await request.json()
        return {"case_no": uuid.uuid4().hex[:12], "query_code": "ABCDEFGH", "item": str(body.get("item"))}

    @app.post("/api/cases/{case_no}/materials", status_code=201)
    async def materials(case_no: str, request: Request) -> list[dict[str, object]]:
        form = await request.form()
        sizes = [len(await part.read()) for part in form.getlist("file") if hasattr(part, "read")]
        await form.close()
        return [{"case_no": case_no, "size": size} for size in sizes]

    return app


def gkflow_app():  # type: ignore[no-untyped-def]
    from gkflow.runtime import runtime_from_env
    from gkflow.web.app import create_app

    return create_app(runtime_from_env())


def _multipart(files: tuple[bytes, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="material"\r\n\r\n{MATERIAL}\r\n'.encode()
    ]
    for name, data, kind in (("证明.pdf", files[0], "application/pdf"), ("照片.jpg", files[1], "image/jpeg")):
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _unique(files: tuple[bytes, bytes], n: int) -> tuple[bytes, bytes]:
    """Every submission its own files (content-addressed storage would otherwise keep one copy)."""
    stamp = n.to_bytes(8, "big")
    return files[0][:9] + stamp + files[0][17:], files[1][:22] + stamp + files[1][30:]


def _submit_once(conn: http.client.HTTPConnection, token: str, upload: tuple[bytes, str]) -> bool:
    application = {
        "item": "gov-info-request",
        "name": "基准测试",
        "phone": "13800001111",
        "fields": {"requested_information": "2025年部门预算"},
    }
    conn.request(
        "POST",
        "/api/cases",
        body=json.dumps(application, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    response = conn.getresponse()
    answer = json.loads(response.read() or b"{}")
    if response.status != 201:
        raise RuntimeError(f"submission answered {response.status}: {answer}")
    body, content_type = upload
    conn.request(
        "POST",
        f"/api/cases/{answer['case_no']}/materials",
        body=body,
        headers={"Content-Type": content_type, "X-Query-Code": answer["query_code"]},
    )
    response = conn.getresponse()
    text = response.read()
    if response.status != 201:
        raise RuntimeError(f"upload answered {response.status}: {text[:300]!r}")
    return True


def load(port: int, token: str, files: tuple[bytes, bytes], seconds: float) -> dict[str, Any]:
    done: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = [int(time.time() * 1000)]
    stop = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            with lock:
                counter[0] += 1
                upload = _multipart(_unique(files, counter[0]))
            started = time.perf_counter()
            try:
                _submit_once(conn, token, upload)
            except (OSError, RuntimeError) as exc:
                with lock:
                    errors.append(str(exc))
                return
            with lock:
                done.append(time.perf_counter() - started)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    begin = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    wall = time.perf_counter() - begin
    return {"per_s": len(done) / wall, "n": len(done), "latencies": sorted(done)}


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    duration_s, warmup_s = (1.0, 0.5) if tiny else (DURATION_S, WARMUP_S)
    from gkflow.runtime import Runtime
    from gkflow.services.catalogue_sync import init_database
    from gkflow.services.keys import generate_missing_keys
    from gkflow.services.sessions import issue_token
    from gkflow.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="gkflow-bench-apply-"))
    try:
        shutil.copytree(ROOT / "config", tmp / "config")
        settings = Settings(
            var_dir=tmp / "var", database_url=f"sqlite:///{tmp / 'apply.db'}", config_dir=tmp / "config"
        )
        generate_missing_keys(settings)
        rt = Runtime(settings)
        init_database(rt)
        token = issue_token(rt, "partner", "bench")
        rt.engine.dispose()
        files = _files()
        env = {
            "GKFLOW_DATABASE_URL": settings.db_url,
            "GKFLOW_CONFIG_DIR": str(settings.config_dir),
            "GKFLOW_VAR_DIR": str(settings.var_dir),
        }
        with serve("bench.bench_apply:gkflow_app", env) as port:
            load(port, token, files, warmup_s)
            measured = load(port, token, files, duration_s)
        with serve("bench.bench_apply:bare_app", {}) as port:
            load(port, token, files, warmup_s)
            bare = load(port, token, files, duration_s)
        stored = sum(1 for p in (settings.var_dir / "materials").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    latencies = measured["latencies"]
    return [
        figure(
            "apply.http",
            measured["per_s"],
            "submissions/s",
            bare["per_s"],
            clients=CLIENTS,
            file_kb=FILE_BYTES // 1024,
            files_per_submission=2,
            submissions=measured["n"],
            p50_ms=round(latencies[len(latencies) // 2] * 1000, 1),
            p99_ms=round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000, 1),
            blobs_stored=stored,
            target_ratio=0.5,
        )
    ]


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line, ensure_ascii=False))
