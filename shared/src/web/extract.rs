//! Extractors that turn a request into typed input or a problem+json error, never a plain-text
//! framework rejection.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::{AppState, RequestId};
use crate::app::admin::{admin_actor, require_admin};
use crate::domain::audit::Actor;
use crate::domain::user::Caller;
use crate::error::{ApiError, FieldError};

/// The authenticated caller, from a valid `Authorization: Bearer <access token>`.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already verified for this request by a guard (`admins_only`).
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(*caller);
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized(
                "authorization header must be `Bearer <token>`",
            ))?;
        let claims = state.tokens.verify(token)?;
        Ok(Self {
            id: claims.sub,
            role: claims.role,
            session: Some(claims.session()),
        })
    }
}

/// The caller if they sent a token (a bad token is still a 401), or `None` for an anonymous
/// visitor: for routes that anyone may call but that show more to some.
#[derive(Debug, Clone, Copy)]
pub struct OptionalCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for OptionalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(AUTHORIZATION) {
            Caller::from_request_parts(parts, state)
                .await
                .map(|caller| Self(Some(caller)))
        } else {
            Ok(Self(None))
        }
    }
}

/// The admin API's guard, a route layer over every admin route: 401 without a valid token, 403
/// for any other role, before a path, query or body is read, so only an admin learns what the
/// admin API would accept. The verified caller rides on in the request's extensions; the use
/// cases still check (`app::admin::require_admin`).
pub async fn admins_only(
    caller: Caller,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    require_admin(&caller)?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// An admin caller, as the actor of this request's audited actions (its request id is what the
/// audit entry records): 401 without a valid token, 403 for any other role.
#[derive(Debug, Clone)]
pub struct AdminActor(pub Actor);

impl FromRequestParts<AppState> for AdminActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Ok(RequestId(request_id)) = RequestId::from_request_parts(parts, state).await;
        admin_actor(&caller, Some(request_id)).map(Self)
    }
}

/// A JSON request body: `Content-Type: application/json`, at most `MAX_BODY_BYTES`, parsed into
/// `T` with the path of the first offending field on error. Unknown fields are rejected by the
/// body types themselves (`deny_unknown_fields`), so a typo never silently does nothing.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        let headers = request.headers();
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json"
            && !(essence.starts_with("application/") && essence.ends_with("+json"))
        {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected Content-Type application/json, got {:?}",
                if content_type.is_empty() {
                    "(none)"
                } else {
                    content_type
                }
            )));
        }
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if declared.is_some_and(|length| length > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON document, turning serde's message into a problem that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let Some(first) = bytes.iter().find(|byte| !byte.is_ascii_whitespace()) else {
        return Err(ApiError::BadRequest(
            "request body is empty; expected a JSON object".to_owned(),
        ));
    };
    // serde also builds a struct from a JSON array (`["a@b.c", "pw", ...]` as a registration),
    // and `[]` as an all-absent PATCH: every body is an object, so say so up front.
    if *first != b'{' {
        return Err(ApiError::BadRequest(
            "request body must be a JSON object".to_owned(),
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(deserializer);
    result.map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Validation(vec![field_error(&path, &inner.to_string())])
            }
            _ => ApiError::BadRequest(format!("malformed JSON: {inner}")),
        }
    })
}

/// Maps serde's data-error message to a field, a code and a readable message.
fn field_error(path: &str, message: &str) -> FieldError {
    // serde reports a missing/unknown field at its parent's path, naming the field in backticks.
    let named = message.split('`').nth(1).unwrap_or_default();
    // serde_path_to_error already ends the path with an unknown field's name, but not a missing one's.
    let join = |parent: &str, child: &str| {
        if parent == "." || parent.is_empty() {
            child.to_owned()
        } else if parent == child || parent.ends_with(&format!(".{child}")) {
            parent.to_owned()
        } else {
            format!("{parent}.{child}")
        }
    };
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    if message.starts_with("missing field") {
        FieldError::new(join(path, named), "required", "is required")
    } else if message.starts_with("unknown field") {
        FieldError::new(join(path, named), "unknown_field", message)
    } else if message.starts_with("unknown variant") {
        FieldError::new(path, "invalid_value", message)
    } else if message.starts_with("invalid type") {
        FieldError::new(path, "invalid_type", message)
    } else {
        FieldError::new(path, "invalid_value", message)
    }
}

/// A path parameter. An id that does not even parse can not exist, so it is a 404, not a 400.
#[derive(Debug)]
pub struct PathParam<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParam<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParam(value))
            .map_err(|_| ApiError::NotFound("resource"))
    }
}

/// Query-string parameters, with the offending parameter named on error.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T, S> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryParams)
            .map_err(|error| {
                let path = error.path().to_string();
                ApiError::Validation(vec![field_error(&path, &error.into_inner().to_string())])
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    fn first_field(result: Result<Body, ApiError>) -> (String, &'static str) {
        match result {
            Err(ApiError::Validation(errors)) => (errors[0].field.clone(), errors[0].code),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            first_field(parse_json(br#"{"name": "a"}"#)),
            ("count".to_owned(), "required")
        );
        assert_eq!(
            first_field(parse_json(br#"{"name": "a", "count": "x"}"#)),
            ("count".to_owned(), "invalid_type")
        );
        assert_eq!(
            first_field(parse_json(br#"{"name": "a", "count": 1, "extra": 1}"#)),
            ("extra".to_owned(), "unknown_field")
        );
        assert!(matches!(
            parse_json::<Body>(b"{not json"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"  "),
            Err(ApiError::BadRequest(_))
        ));
        for not_an_object in [&b"[\"a\", 1]"[..], b" []", b"42", b"\"a\"", b"null"] {
            assert!(
                matches!(
                    parse_json::<Body>(not_an_object),
                    Err(ApiError::BadRequest(ref detail)) if detail.contains("JSON object")
                ),
                "{}",
                String::from_utf8_lossy(not_an_object)
            );
        }
    }
}
