//! A JSON endpoint, Apprise's `custom_json.py`: `json[s]://[user[:pass]@]host[:port][/path]`,
//! `?method=` (POST default), `+Header=value` headers, `-param=value` query parameters,
//! `:field=name` to rename (or, empty, drop) a payload field. The body is Apprise's:
//! `{"version": "1.0", "title", "message", "attachments": [], "type"}` with `type`
//! `failure`, `warning` or `success`.

use base64::Engine;
use serde_json::{json, Value};

use super::{encode, Method, Request};
use crate::message::Message;
use crate::urls::{AppriseUrl, UrlError};

/// One endpoint.
#[derive(Debug, Clone)]
pub struct Json {
    url: String,
    method: Method,
    headers: Vec<(String, String)>,
    fields: Vec<(String, String)>,
    auth: Option<String>,
}

impl Json {
    /// Parses a `json://` or `jsons://` URL.
    pub fn parse(url: &AppriseUrl, secure: bool) -> Result<Self, UrlError> {
        let origin = url.origin(secure)?;
        let path: String = url.path.iter().map(|s| format!("/{}", encode(s))).collect();
        let mut target = format!("{origin}{}", if path.is_empty() { "/" } else { &path });
        let params: Vec<String> = url
            .prefixed('-')
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        if !params.is_empty() {
            target.push('?');
            target.push_str(&params.join("&"));
        }
        let method = match url.param("method").map(str::to_ascii_uppercase).as_deref() {
            None | Some("POST") => Method::Post,
            Some("PUT") => Method::Put,
            Some(_) => return Err(url.error("`method` must be POST or PUT")),
        };
        let headers: Vec<(String, String)> = url
            .prefixed('+')
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if headers.iter().any(|(k, _)| {
            !k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Err(url.error("a `+Header` name may hold only letters, digits, `-` and `_`"));
        }
        let auth = url.user.as_ref().map(|user| {
            let pair = format!("{user}:{}", url.password.as_deref().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        Ok(Self {
            url: target,
            method,
            headers,
            fields: url
                .prefixed(':')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            auth,
        })
    }

    /// The request.
    pub fn request(&self, message: &Message<'_>) -> Request {
        let mut body = json!({
            "version": "1.0",
            "title": message.title,
            "message": message.body,
            "attachments": [],
            "type": message.severity.apprise_type(),
        });
        if let Value::Object(map) = &mut body {
            for (field, rename) in &self.fields {
                match map.remove(field) {
                    Some(value) if !rename.is_empty() => {
                        map.insert(rename.clone(), value);
                    }
                    Some(_) => {}
                    None => {
                        map.insert(field.clone(), json!(rename));
                    }
                }
            }
        }
        let mut request = Request::post_json(self.url.clone(), body);
        request.method = self.method;
        request.headers = self.headers.clone();
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth.clone());
        }
        request
    }

    /// Header values and the password.
    pub fn secrets(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(_, v)| v.clone())
            .chain(self.auth.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use monitoring_plugin_api::AlertLevel;

    use crate::services::Method;
    use crate::testing::*;

    #[test]
    fn apprise_payload_with_headers_params_and_method() {
        let url =
            "jsons://u:p@hook.example:8443/in/alerts?method=put&+X-Token=abc&-env=prod&:type=kind";
        let r = &requests(url, &firing(AlertLevel::Critical))[0];
        assert_eq!(r.method, Method::Put);
        assert_eq!(r.url, "https://hook.example:8443/in/alerts?env=prod");
        assert_eq!(header(r, "X-Token"), Some("abc"));
        assert_eq!(header(r, "Authorization"), Some("Basic dTpw"));
        let body = json(r);
        assert_eq!(body["version"], "1.0");
        assert_eq!(body["kind"], "failure");
        assert!(body.get("type").is_none());
        let plain = &requests("json://h", &resolved())[0];
        assert_eq!(
            (plain.url.as_str(), plain.method),
            ("http://h/", Method::Post)
        );
        assert_eq!(json(plain)["type"], "success");
        assert!(refusal("json://h?method=DELETE").contains("`method`"));
    }
}
