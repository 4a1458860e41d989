//! The command line's side of the REST API: eKuiper's `kuiper` commands (`create stream`,
//! `show rules`, `getstatus rule`, ...) sent to a running server, with human-readable output
//! by default and the server's JSON with `--json`.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value as Json, json};

/// Where the server is and how to talk to it.
pub struct Remote {
    pub base: String,
    pub token: Option<String>,
    pub json: bool,
}

/// Why a command failed; each kind has its own exit code.
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with an error (exit code 1).
    Server { status: u16, message: String },
    /// The server could not be reached (exit code 3).
    Unreachable(String),
    /// The command itself is wrong (exit code 2).
    Usage(String),
}

impl ClientError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Server { .. } => 1,
            ClientError::Usage(_) => 2,
            ClientError::Unreachable(_) => 3,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ClientError::Server { status, message } => format!("{message} (HTTP {status})"),
            ClientError::Unreachable(m) | ClientError::Usage(m) => m.clone(),
        }
    }
}

/// A response: its status and body.
struct Answer {
    body: String,
}

impl Answer {
    fn json(&self) -> Result<Json, ClientError> {
        serde_json::from_str(&self.body).map_err(|e| ClientError::Server {
            status: 200,
            message: format!("the server's answer is not JSON: {e}"),
        })
    }
}

impl Remote {
    fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Unreachable(format!("cannot start the client: {e}")))
    }

    fn http() -> Result<reqwest::Client, ClientError> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClientError::Unreachable(format!("cannot start the client: {e}")))
    }

    fn request(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut request = http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Answer, ClientError> {
        Self::runtime()?.block_on(async {
            let http = Self::http()?;
            let mut request = self
                .request(&http, method, path)
                .timeout(Duration::from_secs(120));
            if let Some(body) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
            }
            let response = request.send().await.map_err(|e| self.unreachable(e))?;
            let status = response.status().as_u16();
            let body = response.text().await.map_err(|e| self.unreachable(e))?;
            if status >= 400 {
                return Err(server_error(status, &body));
            }
            Ok(Answer { body })
        })
    }

    fn unreachable(&self, e: reqwest::Error) -> ClientError {
        ClientError::Unreachable(format!(
            "cannot reach the server at {}: {e}; is `sinkbridge serve` running there (see --host and --port)?",
            self.base
        ))
    }

    fn get(&self, path: &str) -> Result<Answer, ClientError> {
        self.call(reqwest::Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Option<String>) -> Result<Answer, ClientError> {
        self.call(reqwest::Method::POST, path, body)
    }

    fn delete(&self, path: &str) -> Result<Answer, ClientError> {
        self.call(reqwest::Method::DELETE, path, None)
    }

    /// Prints JSON as the server sent it (`--json`), or `human` otherwise.
    fn print(&self, value: &Json, human: impl FnOnce(&Json) -> String) {
        let out = if self.json {
            value.to_string()
        } else {
            human(value)
        };
        say(&out);
    }

    // ----- the commands -----

    /// `create stream|table NAME '(fields) WITH (...)'`.
    pub fn create_stream(
        &self,
        table: bool,
        name: &str,
        definition: &str,
    ) -> Result<(), ClientError> {
        let word = if table { "TABLE" } else { "STREAM" };
        let sql = format!("CREATE {word} {name} {definition}");
        let path = if table { "/tables" } else { "/streams" };
        let answer = self.post(path, Some(json!({"sql": sql}).to_string()))?;
        self.done(&answer.body);
        Ok(())
    }

    /// `create rule ID '{json}'`: the id is the one given, whatever the JSON says.
    pub fn create_rule(&self, id: &str, definition: &str) -> Result<(), ClientError> {
        let mut rule: Json = serde_json::from_str(definition)
            .map_err(|e| ClientError::Usage(format!("the rule is not valid JSON: {e}")))?;
        let Json::Object(fields) = &mut rule else {
            return Err(ClientError::Usage(
                "the rule must be a JSON object with sql and actions".into(),
            ));
        };
        fields.insert("id".into(), Json::String(id.to_string()));
        let answer = self.post("/rules", Some(rule.to_string()))?;
        self.done(&answer.body);
        Ok(())
    }

    /// Prints the server's message for a change (or, with `--json`, the same as JSON).
    fn done(&self, message: &str) {
        self.print(&json!({"message": message}), |_| message.to_string());
    }

    pub fn show(&self, what: &str) -> Result<(), ClientError> {
        let answer = self.get(&format!("/{what}"))?.json()?;
        self.print(&answer, |value| match what {
            "rules" => table(
                &["ID", "NAME", "STATUS"],
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        vec![
                            text_of(&r["id"]),
                            text_of(&r["name"]),
                            text_of(&r["status"]),
                        ]
                    })
                    .collect(),
            ),
            _ => {
                let names: Vec<String> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text_of)
                    .collect();
                if names.is_empty() {
                    format!("No {what} are defined.")
                } else {
                    names.join("\n")
                }
            }
        });
        Ok(())
    }

    pub fn describe(&self, kind: &str, name: &str) -> Result<(), ClientError> {
        let answer = self.get(&format!("/{kind}s/{name}"))?.json()?;
        self.print(&answer, |value| match kind {
            "rule" => serde_json::to_string_pretty(value).unwrap_or_default(),
            _ => describe_stream(value),
        });
        Ok(())
    }

    pub fn drop(&self, kind: &str, name: &str) -> Result<(), ClientError> {
        let answer = self.delete(&format!("/{kind}s/{name}"))?;
        self.done(&answer.body);
        Ok(())
    }

    /// `start|stop|restart rule ID`.
    pub fn rule_action(&self, action: &str, id: &str) -> Result<(), ClientError> {
        let answer = self.post(&format!("/rules/{id}/{action}"), None)?;
        self.done(&answer.body);
        Ok(())
    }

    pub fn status(&self, id: &str) -> Result<(), ClientError> {
        let answer = self.get(&format!("/rules/{id}/status"))?.json()?;
        self.print(&answer, |value| {
            table(
                &["METRIC", "VALUE"],
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| vec![k.clone(), text_of(v)])
                    .collect(),
            )
        });
        Ok(())
    }

    /// `query`: a prompt that runs each SELECT typed at it and prints its rows as they come,
    /// until Ctrl-C, which ends that query; an empty line, `quit` or end of input ends the
    /// prompt.
    pub fn query(&self) -> Result<(), ClientError> {
        // A worker thread of its own: when Ctrl-C ends a query, its connection must close
        // while the prompt waits for the next line, which only happens on a running runtime.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| ClientError::Unreachable(format!("cannot start the client: {e}")))?;
        let http = Self::http()?;
        let stdin = std::io::stdin();
        loop {
            if !self.json {
                prompt("sinkbridge > ");
            }
            let mut line = String::new();
            if stdin.read_line(&mut line).unwrap_or(0) == 0 {
                return Ok(());
            }
            let sql = line.trim().trim_end_matches(';');
            if sql.is_empty()
                || sql.eq_ignore_ascii_case("quit")
                || sql.eq_ignore_ascii_case("exit")
            {
                return Ok(());
            }
            let run = runtime.block_on(self.run_query(&http, sql));
            match run {
                Ok(()) => {}
                Err(e @ ClientError::Server { .. }) => complain(&e.message()),
                Err(e) => return Err(e),
            }
        }
    }

    async fn run_query(&self, http: &reqwest::Client, sql: &str) -> Result<(), ClientError> {
        let mut response = self
            .request(http, reqwest::Method::POST, "/query")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json!({"sql": sql}).to_string())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        if status >= 400 {
            let body = response.text().await.unwrap_or_default();
            return Err(server_error(status, &body));
        }
        if !self.json {
            say("(press Ctrl-C to end the query)");
        }
        let mut pending = Vec::new();
        loop {
            let chunk = tokio::select! {
                chunk = response.chunk() => chunk.map_err(|e| self.unreachable(e))?,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            let Some(chunk) = chunk else {
                return Ok(());
            };
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                if !line.trim().is_empty() {
                    say(line.trim_end());
                }
            }
        }
    }
}

fn server_error(status: u16, body: &str) -> ClientError {
    let message = serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_else(|| body.trim().to_string());
    ClientError::Server { status, message }
}

fn text_of(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.into_iter().map(line));
    out.join("\n")
}

fn describe_stream(value: &Json) -> String {
    let mut out = format!("{} {}\n", text_of(&value["type"]), text_of(&value["name"]));
    match value["fields"].as_array() {
        None => out.push_str("fields: none declared (schemaless)\n"),
        Some(fields) => {
            out.push_str(&table(
                &["FIELD", "TYPE"],
                fields
                    .iter()
                    .map(|f| vec![text_of(&f["name"]), text_of(&f["type"])])
                    .collect(),
            ));
            out.push('\n');
        }
    }
    for (k, v) in value["options"].as_object().into_iter().flatten() {
        out.push_str(&format!("{k}: {}\n", text_of(v)));
    }
    out.trim_end().to_string()
}

#[allow(clippy::print_stdout, reason = "the command line's output")]
fn say(text: &str) {
    println!("{text}");
}

#[allow(clippy::print_stdout, reason = "the query prompt")]
fn prompt(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}

#[allow(
    clippy::print_stderr,
    reason = "the command line reports errors on stderr"
)]
fn complain(text: &str) {
    eprintln!("error: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_to_their_widest_cell() {
        let out = table(
            &["ID", "STATUS"],
            vec![
                vec!["rule_one".into(), "running".into()],
                vec!["r2".into(), "stopped".into()],
            ],
        );
        assert_eq!(
            out,
            "ID        STATUS\nrule_one  running\nr2        stopped"
        );
    }

    #[test]
    fn server_errors_keep_the_message() {
        let e = server_error(404, r#"{"error":1002,"message":"rule \"x\" not found"}"#);
        assert_eq!(e.message(), "rule \"x\" not found (HTTP 404)");
        assert_eq!(e.exit_code(), 1);
    }
}
