"""The web app. For now: the public library (titles, outlines, previews) and a health check.

Rule 1 of the architecture holds here already: visitors see the outline and the first 300
characters of a material, nothing more.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from wenxing import __version__
from wenxing.materials import catalog
from wenxing.runtime import Runtime

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="文行 wenxing", version=__version__, docs_url=None, redoc_url=None)
    app.state.runtime = runtime

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        with runtime.db.reading() as session:
            rows = catalog.list_materials(session, published_only=True, limit=200)
            brand = runtime.publisher_settings()["brand"]
        return TEMPLATES.TemplateResponse(request, "home.html", {"materials": rows, "brand": brand})

    @app.get("/materials/{material_id}", response_class=HTMLResponse)
    def material_page(request: Request, material_id: int) -> HTMLResponse:
        with runtime.db.reading() as session:
            try:
                material = catalog.get_material(session, material_id)
                if material.status != "published":
                    raise catalog.MaterialNotFound(material_id)
                view = catalog.public_view(session, material_id)
            except catalog.MaterialNotFound:
                raise HTTPException(status_code=404, detail="没有这份材料") from None
        brand = runtime.publisher_settings()["brand"]
        return TEMPLATES.TemplateResponse(request, "material.html", {"m": view, "brand": brand})

    @app.get("/healthz")
    def health() -> JSONResponse:
        with runtime.db.reading() as session:
            count = catalog.count_materials(session)
        return JSONResponse({"status": "ok", "materials": count})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        message = exc.detail if isinstance(exc.detail, str) else "请求有误"
        return TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {"message": message, "brand": "文行"},
            status_code=exc.status_code,
        )

    return app
