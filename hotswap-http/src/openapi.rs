//! The OpenAPI 3.1 documents, generated from the handlers: the bearer
//! security scheme, a problem response on every operation, and the
//! `/openapi.json` route and problem-shaped fallbacks every server mounts.

use axum::Json;
use axum::Router;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::problem::{PROBLEM_JSON, Problem};

/// The base document the routers add their paths to.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "hotswap", description = "Run WebAssembly modules on an edge fleet and replace them with zero downtime."),
    components(schemas(Problem)),
    tags(
        (name = "modules", description = "Module versions"),
        (name = "deployments", description = "Rollouts and their operations"),
        (name = "interfaces", description = "WIT interfaces and compatibility"),
        (name = "nodes", description = "Edge nodes"),
        (name = "execute", description = "Function calls"),
        (name = "routes", description = "HTTP routes of the edge ingress"),
        (name = "configs", description = "Module configuration and secrets (write-only)"),
        (name = "policies", description = "Deployment policies per module and environment"),
        (name = "agent", description = "An edge node's agent"),
        (name = "system", description = "Health, readiness, metrics"),
    )
)]
pub(crate) struct ApiDoc;

/// Operations without authentication.
const PUBLIC: &[&str] = &["/healthz", "/readyz", "/metrics", "/openapi.json"];

pub(crate) fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<&mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components
            .schemas
            .entry(Problem::name().into_owned())
            .or_insert_with(Problem::schema);
        let problem = ResponseBuilder::new()
            .description(
                "A problem (RFC 9457): what went wrong and, for invalid input, which field",
            )
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(Problem::name())))
                    .build(),
            )
            .build();
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            for op in operations(item) {
                // OpenAPI requires it of path parameters, and utoipa leaves
                // it out of those described by a schema function.
                for p in op.parameters.iter_mut().flatten() {
                    if p.parameter_in == utoipa::openapi::path::ParameterIn::Path {
                        p.required = utoipa::openapi::Required::True;
                    }
                }
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| problem.clone().into());
                if !public {
                    op.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
            }
        }
    }
}

/// `doc` with the security scheme, problem responses and integer ranges.
pub(crate) fn complete(mut doc: OpenApi) -> OpenApi {
    doc.openapi = utoipa::openapi::OpenApiVersion::Version31;
    Common.modify(&mut doc);
    crate::openapi_ranges::state_integer_ranges(&mut doc);
    doc
}

/// Mount `/openapi.json` (serving the completed `doc`) and the problem
/// fallbacks for unknown routes and methods on `router`.
pub(crate) fn finish<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    doc: OpenApi,
) -> Router<S> {
    let doc = complete(doc);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { Json(doc) }
            }),
        )
        .fallback(|method: Method, uri: Uri| async move {
            Problem::not_found(format!("no route for {method} {}", uri.path())).into_response()
        })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                format!("{} does not take {method}", uri.path()),
            )
            .into_response()
        })
}
