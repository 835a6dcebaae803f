//! `RunAgentInput`: parsing the request body with FastAPI-style validation
//! errors, and turning the client's transcript into engine messages.
//!
//! Parsing is by hand over `serde_json::Value` so that every problem is
//! reported at once with its exact location (`["body","messages",0,"content"]`),
//! as Agno's FastAPI server does. Both the 1.0 shapes and the 0.x ones (the
//! `binary` content part, `null` for absent optional fields) are accepted.
//! Nothing here knows about events or HTTP responses.

use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::error::{AguiError, FieldError};
use super::wire::ClientLine;
use crate::engine::{
    Attachment, MediaKind, Message, Role, ToolCall, ToolSpec, empty_object_schema,
};

/// The body of `POST /agui`, as the AG-UI client sends it.
#[derive(Debug, Clone, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RunAgentInput {
    /// The conversation: agentd uses it as the session id.
    pub thread_id: String,
    /// Echoed in RUN_STARTED and RUN_FINISHED.
    pub run_id: String,
    pub parent_run_id: Option<String>,
    /// Sent by 1.0 clients (`"1.0"`), absent from 0.0.x ones. Without it
    /// the stream is one 0.0.x clients accept: RUN_FINISHED carries no
    /// `pendingToolCallIds`, and a cancelled run ends with RUN_ERROR code
    /// `cancelled` (docs/agui.md).
    pub protocol_version: Option<String>,
    /// The client's shared state; echoed as STATE_SNAPSHOT when not empty.
    #[schema(value_type = Option<Object>)]
    pub state: Option<Value>,
    /// The whole conversation the client holds, oldest first: messages with
    /// `role` developer, system, user (text or content parts), assistant
    /// (with `toolCalls`), tool (with `toolCallId`), activity or reasoning.
    #[schema(value_type = Vec<Object>, min_items = 1)]
    pub messages: Vec<InputMessage>,
    /// Frontend tools: offered to the model, executed by the client.
    #[schema(required = false)]
    pub tools: Vec<InputTool>,
    /// Extra context for the model.
    #[schema(required = false)]
    pub context: Vec<InputContext>,
    /// Opaque; `forwardedProps.user_id` names the user.
    #[schema(value_type = Option<Object>)]
    pub forwarded_props: Option<Value>,
    /// Answers to the interrupts the thread's previous run ended with: the
    /// paused run continues. For a tool call waiting for approval:
    /// `{"interruptId": <tool call id>, "status": "resolved", "payload":
    /// {"approved": true|false, "note"?: "..."}}`, or `"status": "cancelled"`
    /// to refuse it.
    #[schema(required = false)]
    pub resume: Vec<ResumeEntry>,
}

/// One answer to an interrupt.
#[derive(Debug, Clone, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ResumeEntry {
    pub interrupt_id: String,
    /// `resolved` or `cancelled`.
    pub status: String,
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
}

/// One message of the client's transcript, reduced to what a model uses.
#[derive(Debug, Clone, PartialEq)]
pub enum InputMessage {
    /// `developer` and `system` messages.
    System { id: String, content: String },
    User {
        id: String,
        name: Option<String>,
        text: String,
        attachments: Vec<Attachment>,
    },
    Assistant {
        id: String,
        name: Option<String>,
        content: String,
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        id: String,
        tool_call_id: String,
        content: String,
        error: Option<String>,
    },
    /// `activity` and `reasoning` messages: UI-side records no model needs.
    Ignored,
}

#[derive(Debug, Clone, ToSchema)]
pub struct InputTool {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
}

#[derive(Debug, Clone, ToSchema)]
pub struct InputContext {
    pub description: String,
    pub value: String,
}

/// Collects every validation error of one body.
struct Checker {
    errors: Vec<FieldError>,
}

fn loc_of(base: &[Value], key: impl Into<Value>) -> Vec<Value> {
    let mut loc = base.to_vec();
    loc.push(key.into());
    loc
}

impl Checker {
    fn fail(&mut self, kind: &'static str, loc: Vec<Value>, msg: &str, input: Option<&Value>) {
        self.errors.push(FieldError {
            kind,
            loc,
            msg: msg.to_string(),
            input: input.cloned(),
        });
    }

    fn object<'a>(&mut self, v: &'a Value, loc: Vec<Value>) -> Option<&'a Map<String, Value>> {
        let obj = v.as_object();
        if obj.is_none() {
            self.fail(
                "dict_type",
                loc,
                "Input should be a valid dictionary",
                Some(v),
            );
        }
        obj
    }

    /// A required string field.
    fn string(&mut self, obj: &Map<String, Value>, base: &[Value], key: &str) -> Option<String> {
        match obj.get(key) {
            None => {
                self.fail("missing", loc_of(base, key), "Field required", None);
                None
            }
            Some(v) => self.string_value(v, loc_of(base, key)),
        }
    }

    fn string_value(&mut self, v: &Value, loc: Vec<Value>) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                self.fail(
                    "string_type",
                    loc,
                    "Input should be a valid string",
                    Some(other),
                );
                None
            }
        }
    }

    /// An optional string field; `null` counts as absent (0.x clients send it).
    fn opt_string(
        &mut self,
        obj: &Map<String, Value>,
        base: &[Value],
        key: &str,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => self.string_value(v, loc_of(base, key)),
        }
    }

    /// An optional list field (`null` = absent = empty).
    fn opt_list<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        base: &[Value],
        key: &str,
    ) -> &'a [Value] {
        match obj.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.fail(
                    "list_type",
                    loc_of(base, key),
                    "Input should be a valid list",
                    Some(other),
                );
                &[]
            }
        }
    }
}

/// Parses and validates a request body.
pub fn parse(body: &[u8]) -> Result<RunAgentInput, AguiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        AguiError::Validation(vec![FieldError {
            kind: "json_invalid",
            loc: vec!["body".into(), json!(e.column())],
            msg: format!("JSON decode error: {e}"),
            input: None,
        }])
    })?;
    let mut c = Checker { errors: Vec::new() };
    let base = vec![Value::from("body")];
    let Some(obj) = c.object(&value, base.clone()) else {
        return Err(AguiError::Validation(c.errors));
    };
    let thread_id = c.string(obj, &base, "threadId");
    let run_id = c.string(obj, &base, "runId");
    let parent_run_id = c.opt_string(obj, &base, "parentRunId");
    let protocol_version = c.opt_string(obj, &base, "protocolVersion");
    let messages = match obj.get("messages") {
        None => {
            c.fail("missing", loc_of(&base, "messages"), "Field required", None);
            Vec::new()
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, m)| message(&mut c, m, loc_of(&loc_of(&base, "messages"), i)))
            .collect(),
        Some(other) => {
            c.fail(
                "list_type",
                loc_of(&base, "messages"),
                "Input should be a valid list",
                Some(other),
            );
            Vec::new()
        }
    };
    let tools_loc = loc_of(&base, "tools");
    let tools = c
        .opt_list(obj, &base, "tools")
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let loc = loc_of(&tools_loc, i);
            let t = c.object(t, loc.clone())?;
            let name = c.string(t, &loc, "name");
            let description = c.string(t, &loc, "description");
            Some(InputTool {
                name: name?,
                description: description?,
                parameters: t.get("parameters").filter(|p| !p.is_null()).cloned(),
            })
        })
        .collect();
    let context_loc = loc_of(&base, "context");
    let context = c
        .opt_list(obj, &base, "context")
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let loc = loc_of(&context_loc, i);
            let e = c.object(e, loc.clone())?;
            let description = c.string(e, &loc, "description");
            let value = c.string(e, &loc, "value");
            Some(InputContext {
                description: description?,
                value: value?,
            })
        })
        .collect();
    let resume_loc = loc_of(&base, "resume");
    let resume = c
        .opt_list(obj, &base, "resume")
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let loc = loc_of(&resume_loc, i);
            let e = c.object(e, loc.clone())?;
            let interrupt_id = c.string(e, &loc, "interruptId");
            let status = c.string(e, &loc, "status")?;
            if status != "resolved" && status != "cancelled" {
                c.fail(
                    "literal_error",
                    loc_of(&loc, "status"),
                    "Input should be 'resolved' or 'cancelled'",
                    Some(&Value::String(status.clone())),
                );
                return None;
            }
            Some(ResumeEntry {
                interrupt_id: interrupt_id?,
                status,
                payload: e.get("payload").filter(|p| !p.is_null()).cloned(),
            })
        })
        .collect();
    if !c.errors.is_empty() {
        return Err(AguiError::Validation(c.errors));
    }
    Ok(RunAgentInput {
        thread_id: thread_id.unwrap_or_default(),
        run_id: run_id.unwrap_or_default(),
        parent_run_id,
        protocol_version,
        state: obj.get("state").filter(|s| !s.is_null()).cloned(),
        messages,
        tools,
        context,
        forwarded_props: obj.get("forwardedProps").filter(|s| !s.is_null()).cloned(),
        resume,
    })
}

const ROLES: &str = "'developer', 'system', 'assistant', 'user', 'tool', 'activity', 'reasoning'";

fn message(c: &mut Checker, v: &Value, loc: Vec<Value>) -> Option<InputMessage> {
    let m = c.object(v, loc.clone())?;
    let Some(role) = m.get("role").and_then(Value::as_str) else {
        c.fail(
            "union_tag_not_found",
            loc,
            "Unable to extract tag using discriminator 'role'",
            Some(v),
        );
        return None;
    };
    let id = c.string(m, &loc, "id");
    let msg = match role {
        "developer" | "system" => {
            let content = c.string(m, &loc, "content");
            InputMessage::System {
                id: id?,
                content: content?,
            }
        }
        "user" => {
            let name = c.opt_string(m, &loc, "name");
            let (text, attachments) = content(c, m, &loc, true)?;
            InputMessage::User {
                id: id?,
                name,
                text,
                attachments,
            }
        }
        "assistant" => {
            let name = c.opt_string(m, &loc, "name");
            let content = c.opt_string(m, &loc, "content").unwrap_or_default();
            let calls_loc = loc_of(&loc, "toolCalls");
            let tool_calls = c
                .opt_list(m, &loc, "toolCalls")
                .iter()
                .enumerate()
                .filter_map(|(i, call)| tool_call(c, call, loc_of(&calls_loc, i)))
                .collect();
            InputMessage::Assistant {
                id: id?,
                name,
                content,
                tool_calls,
            }
        }
        "tool" => {
            let tool_call_id = c.string(m, &loc, "toolCallId");
            let error = c.opt_string(m, &loc, "error");
            let (content, _) = content(c, m, &loc, false)?;
            InputMessage::Tool {
                id: id?,
                tool_call_id: tool_call_id?,
                content,
                error,
            }
        }
        "activity" | "reasoning" => InputMessage::Ignored,
        other => {
            c.fail(
                "union_tag_invalid",
                loc_of(&loc, "role"),
                &format!(
                    "Input tag '{other}' found using 'role' does not match any of the expected tags: {ROLES}"
                ),
                Some(&Value::String(other.to_string())),
            );
            return None;
        }
    };
    Some(msg)
}

fn tool_call(c: &mut Checker, v: &Value, loc: Vec<Value>) -> Option<ToolCall> {
    let call = c.object(v, loc.clone())?;
    let id = c.string(call, &loc, "id");
    let f_loc = loc_of(&loc, "function");
    let Some(f) = call.get("function") else {
        c.fail("missing", f_loc, "Field required", None);
        return None;
    };
    let f = c.object(f, f_loc.clone())?;
    let name = c.string(f, &f_loc, "name");
    let arguments = c.string(f, &f_loc, "arguments");
    Some(ToolCall {
        id: id?,
        name: name?,
        arguments: arguments?,
    })
}

/// A `content` that is a string or a list of content parts: its text, and
/// (for user messages) its media as attachments.
fn content(
    c: &mut Checker,
    m: &Map<String, Value>,
    base: &[Value],
    media: bool,
) -> Option<(String, Vec<Attachment>)> {
    let loc = loc_of(base, "content");
    match m.get("content") {
        None => {
            c.fail("missing", loc, "Field required", None);
            None
        }
        Some(Value::String(s)) => Some((s.clone(), Vec::new())),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            let mut attachments = Vec::new();
            let before = c.errors.len();
            for (i, p) in parts.iter().enumerate() {
                match part(c, p, loc_of(&loc, i)) {
                    Some(Part::Text(t)) => texts.push(t),
                    Some(Part::Media(a)) if media => attachments.push(a),
                    _ => {}
                }
            }
            (c.errors.len() == before).then(|| (texts.join("\n"), attachments))
        }
        Some(other) => {
            c.fail(
                "string_type",
                loc,
                "Input should be a valid string or a list of content parts",
                Some(other),
            );
            None
        }
    }
}

enum Part {
    Text(String),
    Media(Attachment),
}

fn media_kind(kind: &str) -> Option<MediaKind> {
    Some(match kind {
        "image" => MediaKind::Image,
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        "document" => MediaKind::Document,
        _ => return None,
    })
}

fn kind_of_mime(mime: &str) -> MediaKind {
    match mime.split('/').next() {
        Some("image") => MediaKind::Image,
        Some("audio") => MediaKind::Audio,
        Some("video") => MediaKind::Video,
        _ => MediaKind::Document,
    }
}

/// A display name a client may have put in a part's metadata.
fn metadata_name(p: &Map<String, Value>) -> Option<String> {
    let meta = p.get("metadata")?.as_object()?;
    ["filename", "name"]
        .iter()
        .find_map(|k| meta.get(*k)?.as_str().map(str::to_string))
}

fn part(c: &mut Checker, v: &Value, loc: Vec<Value>) -> Option<Part> {
    let p = c.object(v, loc.clone())?;
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "text" {
        return c.string(p, &loc, "text").map(Part::Text);
    }
    if kind == "binary" {
        // The 0.x part: one of data, url or id, with a MIME type.
        let mime = c.string(p, &loc, "mimeType");
        let data = c.opt_string(p, &loc, "data");
        let url = c.opt_string(p, &loc, "url");
        let name = c.opt_string(p, &loc, "filename");
        let mime = mime?;
        if data.is_none() && url.is_none() {
            c.fail(
                "value_error",
                loc,
                "Value error, a binary part needs `data` or `url` (file ids are not supported)",
                Some(v),
            );
            return None;
        }
        return Some(Part::Media(Attachment {
            kind: kind_of_mime(&mime),
            mime_type: mime,
            name,
            data,
            url,
        }));
    }
    let Some(media) = media_kind(kind) else {
        c.fail(
            "union_tag_invalid",
            loc_of(&loc, "type"),
            &format!(
                "Input tag '{kind}' found using 'type' does not match any of the expected tags: 'text', 'image', 'audio', 'video', 'document', 'binary'"
            ),
            p.get("type"),
        );
        return None;
    };
    let s_loc = loc_of(&loc, "source");
    let Some(source) = p.get("source") else {
        c.fail("missing", s_loc, "Field required", None);
        return None;
    };
    let source = c.object(source, s_loc.clone())?;
    let value = c.string(source, &s_loc, "value");
    let mime = c.opt_string(source, &s_loc, "mimeType");
    let (data, url) = match source.get("type").and_then(Value::as_str) {
        Some("data") => {
            if mime.is_none() {
                c.fail(
                    "missing",
                    loc_of(&s_loc, "mimeType"),
                    "Field required",
                    None,
                );
            }
            (value?, None)
        }
        Some("url") => (String::new(), value),
        other => {
            c.fail(
                "union_tag_invalid",
                loc_of(&s_loc, "type"),
                &format!(
                    "Input tag '{}' found using 'type' does not match the supported tags: 'data', 'url' (file ids are not supported)",
                    other.unwrap_or("")
                ),
                source.get("type"),
            );
            return None;
        }
    };
    Some(Part::Media(Attachment {
        kind: media,
        mime_type: mime.unwrap_or_else(|| "application/octet-stream".to_string()),
        name: metadata_name(p),
        data: url.is_none().then_some(data),
        url,
    }))
}

/// What the engine gets from the client's transcript.
#[derive(Debug, Default)]
pub struct Conversation {
    /// Everything up to and including the last assistant turn (plus the
    /// client's context): the engine trusts it instead of stored history.
    pub history: Vec<Message>,
    /// What came after the last assistant turn: the new user message(s), or
    /// the results of frontend tool calls that turn asked for.
    pub input: Vec<Message>,
}

impl RunAgentInput {
    pub fn conversation(&self) -> Conversation {
        let mut messages: Vec<Message> = self
            .messages
            .iter()
            .filter_map(|m| engine_message(m, &self.messages))
            .collect();
        let split = messages
            .iter()
            .rposition(|m| m.role == Role::Assistant)
            .map_or(0, |i| i + 1);
        let input = messages.split_off(split);
        let mut history = Vec::with_capacity(messages.len() + 1);
        if !self.context.is_empty() {
            let lines: Vec<String> = self
                .context
                .iter()
                .map(|c| format!("- {}: {}", c.description, c.value))
                .collect();
            history.push(Message::new(
                Role::System,
                format!("Context from the application:\n{}", lines.join("\n")),
            ));
        }
        history.extend(messages);
        Conversation { history, input }
    }

    pub fn client_tools(&self) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .map(|t| ToolSpec {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.parameters.clone().unwrap_or_else(empty_object_schema),
            })
            .collect()
    }

    /// `forwardedProps.user_id`, as Agno reads it.
    pub fn user_id(&self) -> Option<String> {
        self.forwarded_props
            .as_ref()?
            .get("user_id")?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// The state worth passing on: absent, `null` and `{}` are no state.
    pub fn shared_state(&self) -> Option<Value> {
        self.state
            .clone()
            .filter(|s| !(s.is_null() || s.as_object().is_some_and(Map::is_empty)))
    }

    /// Which client line the stream is for: 1.0 clients declare
    /// `protocolVersion`, 0.0.x clients do not have the field.
    pub fn client_line(&self) -> ClientLine {
        ClientLine::of_request(self.protocol_version.as_deref())
    }

    /// Whether any message reaches the model.
    pub fn has_messages(&self) -> bool {
        self.messages
            .iter()
            .any(|m| !matches!(m, InputMessage::Ignored))
    }
}

fn engine_message(m: &InputMessage, all: &[InputMessage]) -> Option<Message> {
    let base = |id: &str, role: Role, text: &str| Message {
        id: id.to_string(),
        ..Message::new(role, text)
    };
    Some(match m {
        InputMessage::System { id, content } => base(id, Role::System, content),
        InputMessage::User {
            id,
            name,
            text,
            attachments,
        } => Message {
            name: name.clone(),
            attachments: attachments.clone(),
            ..base(id, Role::User, text)
        },
        InputMessage::Assistant {
            id,
            name,
            content,
            tool_calls,
        } => Message {
            name: name.clone(),
            tool_calls: tool_calls.clone(),
            ..base(id, Role::Assistant, content)
        },
        InputMessage::Tool {
            id,
            tool_call_id,
            content,
            error,
        } => {
            // Tool messages carry no tool name; the call they answer does.
            let name = all.iter().find_map(|m| match m {
                InputMessage::Assistant { tool_calls, .. } => tool_calls
                    .iter()
                    .find(|c| &c.id == tool_call_id)
                    .map(|c| c.name.clone()),
                _ => None,
            });
            let text = match error {
                Some(e) if content.is_empty() => e.clone(),
                _ => content.clone(),
            };
            Message {
                tool_call_id: Some(tool_call_id.clone()),
                name,
                is_error: error.is_some(),
                ..base(id, Role::Tool, &text)
            }
        }
        InputMessage::Ignored => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: Value) -> Vec<FieldError> {
        match parse(body.to_string().as_bytes()) {
            Err(AguiError::Validation(e)) => e,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn reports_every_error_with_its_location() {
        let e = errors(json!({"threadId": 5, "messages": [{"id": "m", "role": "user"}]}));
        let locs: Vec<String> = e.iter().map(|e| json!(e.loc).to_string()).collect();
        assert_eq!(
            locs,
            [
                r#"["body","threadId"]"#,
                r#"["body","runId"]"#,
                r#"["body","messages",0,"content"]"#
            ]
        );
        assert_eq!(e[0].kind, "string_type");
        assert_eq!(e[1].kind, "missing");
    }

    #[test]
    fn splits_history_from_new_input() {
        let input = parse(
            json!({"threadId": "t", "runId": "r", "messages": [
                {"id": "1", "role": "user", "content": "hi"},
                {"id": "2", "role": "assistant", "toolCalls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"id": "3", "role": "tool", "toolCallId": "c1", "content": "42"},
                {"id": "4", "role": "activity", "activityType": "x", "content": {}}
            ], "context": [{"description": "d", "value": "v"}]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let conv = input.conversation();
        assert_eq!(conv.history.len(), 3, "context, user, assistant");
        assert_eq!(conv.history[0].role, Role::System);
        assert_eq!(conv.input.len(), 1);
        assert_eq!(conv.input[0].name.as_deref(), Some("f"));
        assert_eq!(conv.input[0].tool_call_id.as_deref(), Some("c1"));
    }

    #[test]
    fn content_parts_become_attachments() {
        let input = parse(
            json!({"threadId": "t", "runId": "r", "messages": [
                {"id": "1", "role": "user", "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": {"type": "data", "value": "aGk=", "mimeType": "image/png"}},
                    {"type": "document", "source": {"type": "url", "value": "https://x/y.pdf"}},
                    {"type": "binary", "mimeType": "audio/wav", "data": "aGk=", "filename": "a.wav"}
                ]}]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let conv = input.conversation();
        let m = &conv.input[0];
        assert_eq!(m.text, "look");
        let kinds: Vec<MediaKind> = m.attachments.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [MediaKind::Image, MediaKind::Document, MediaKind::Audio]
        );
        assert_eq!(m.attachments[1].url.as_deref(), Some("https://x/y.pdf"));
        assert_eq!(m.attachments[2].name.as_deref(), Some("a.wav"));
    }
}
