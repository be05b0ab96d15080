//! Reading the headers a provider sends.

use http::HeaderMap;

use crate::WebhookError;

/// The first of `names` present, as text.
pub(crate) fn first_of(
    headers: &HeaderMap,
    names: &[&'static str],
) -> Result<Option<(&'static str, String)>, WebhookError> {
    for &name in names {
        if let Some(value) = headers.get(name) {
            let text = value
                .to_str()
                .map_err(|_| WebhookError::MalformedHeader {
                    header: name,
                    reason: "it is not visible ASCII".to_owned(),
                })?
                .trim();
            return Ok(Some((name, text.to_owned())));
        }
    }
    Ok(None)
}

/// The first of `names` present and not empty; missing (naming the first) otherwise.
pub(crate) fn required(
    headers: &HeaderMap,
    names: &[&'static str],
) -> Result<(&'static str, String), WebhookError> {
    let missing = WebhookError::MissingHeader {
        header: names.first().copied().unwrap_or("event"),
    };
    match first_of(headers, names)? {
        Some((name, value)) if !value.is_empty() => Ok((name, value)),
        Some(_) | None => Err(missing),
    }
}
