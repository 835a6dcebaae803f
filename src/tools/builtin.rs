//! Built-in tools: pure, bounded and safe to offer any agent.
//!
//! - `current_time`: the current UTC time (RFC 3339), optionally shifted by a
//!   fixed UTC offset in hours.
//! - `calculator`: evaluates an arithmetic expression (+ - * / % ^, parentheses,
//!   decimals); expressions are capped at 1,000 characters.
//! - `ask_user`: asks the person behind the client a question. It never runs
//!   on the server: calling it pauses the run (status awaiting) until a client
//!   resumes it with the answer, through any protocol's resume/continue route.
//! - `http_fetch` (see `fetch`): GETs a URL on a configured allow-list of
//!   hosts, with size and time limits; off until hosts are configured.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Tool, ToolError};
use crate::config::ToolsConfig;
use crate::domain::ToolSpec;
use crate::domain::builtin_tools::{ASK_USER, CALCULATOR, CURRENT_TIME};

/// The built-in tools `config` turns on (all but `http_fetch`, which needs
/// its allow-list of hosts).
pub fn all(config: &ToolsConfig) -> Vec<Arc<dyn Tool>> {
    let mut tools: Vec<Arc<dyn Tool>> = vec![
        Arc::new(CurrentTime),
        Arc::new(Calculator),
        Arc::new(AskUser),
    ];
    if let Some(fetch) = super::fetch::HttpFetch::from_config(&config.http_fetch) {
        tools.push(Arc::new(fetch));
    }
    tools
}

pub struct CurrentTime;

#[async_trait]
impl Tool for CurrentTime {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: CURRENT_TIME.into(),
            description: "Returns the current date and time (RFC 3339). Optional utc_offset_hours shifts it from UTC.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "utc_offset_hours": {"type": "number", "minimum": -14, "maximum": 14}
                }
            }),
        }
    }

    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        let offset = match arguments.get("utc_offset_hours") {
            None | Some(Value::Null) => 0.0,
            Some(v) => v.as_f64().ok_or_else(|| {
                ToolError::InvalidArguments("utc_offset_hours must be a number".into())
            })?,
        };
        if !(-14.0..=14.0).contains(&offset) {
            return Err(ToolError::InvalidArguments(
                "utc_offset_hours must be between -14 and 14".into(),
            ));
        }
        let offset = chrono::FixedOffset::east_opt((offset * 3600.0).round() as i32)
            .ok_or_else(|| ToolError::InvalidArguments("bad offset".into()))?;
        Ok(chrono::Utc::now()
            .with_timezone(&offset)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

pub struct Calculator;

#[async_trait]
impl Tool for Calculator {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: CALCULATOR.into(),
            description: "Evaluates an arithmetic expression with + - * / % ^ and parentheses."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {"expression": {"type": "string", "maxLength": 1000}},
                "required": ["expression"]
            }),
        }
    }

    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        let expr = arguments
            .get("expression")
            .and_then(Value::as_str)
            .ok_or_else(|| ToolError::InvalidArguments("expression (string) is required".into()))?;
        if expr.len() > 1000 {
            return Err(ToolError::InvalidArguments(
                "expression longer than 1000 characters".into(),
            ));
        }
        let value = calc::eval(expr).map_err(ToolError::Failed)?;
        Ok(format_number(value))
    }
}

pub struct AskUser;

#[async_trait]
impl Tool for AskUser {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: ASK_USER.into(),
            description: "Asks the user a question and waits for the answer. Use it when you need information only the user has.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"question": {"type": "string", "maxLength": 4000}},
                "required": ["question"]
            }),
        }
    }

    async fn call(&self, _arguments: Value) -> Result<String, ToolError> {
        // Unreachable through the agent loop, which pauses instead of calling.
        Err(ToolError::Failed(
            "ask_user is answered by the user, not executed on the server".into(),
        ))
    }

    fn answered_by_client(&self) -> bool {
        true
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A small recursive-descent evaluator; recursion depth is bounded by the
/// 1,000-character cap on expressions.
mod calc {
    pub fn eval(src: &str) -> Result<f64, String> {
        let mut p = Parser {
            chars: src.chars().filter(|c| !c.is_whitespace()).collect(),
            pos: 0,
        };
        let v = p.expr()?;
        if p.pos < p.chars.len() {
            return Err(format!("unexpected '{}'", p.chars[p.pos]));
        }
        if !v.is_finite() {
            return Err("result is not a finite number".into());
        }
        Ok(v)
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }

        fn expr(&mut self) -> Result<f64, String> {
            let mut v = self.term()?;
            while let Some(op @ ('+' | '-')) = self.peek() {
                self.pos += 1;
                let r = self.term()?;
                v = if op == '+' { v + r } else { v - r };
            }
            Ok(v)
        }

        fn term(&mut self) -> Result<f64, String> {
            let mut v = self.power()?;
            while let Some(op @ ('*' | '/' | '%')) = self.peek() {
                self.pos += 1;
                let r = self.power()?;
                if op != '*' && r == 0.0 {
                    return Err("division by zero".into());
                }
                v = match op {
                    '*' => v * r,
                    '/' => v / r,
                    _ => v % r,
                };
            }
            Ok(v)
        }

        fn power(&mut self) -> Result<f64, String> {
            let base = self.unary()?;
            if self.peek() == Some('^') {
                self.pos += 1;
                let exp = self.power()?;
                return Ok(base.powf(exp));
            }
            Ok(base)
        }

        fn unary(&mut self) -> Result<f64, String> {
            match self.peek() {
                Some('-') => {
                    self.pos += 1;
                    Ok(-self.unary()?)
                }
                Some('+') => {
                    self.pos += 1;
                    self.unary()
                }
                _ => self.atom(),
            }
        }

        fn atom(&mut self) -> Result<f64, String> {
            match self.peek() {
                Some('(') => {
                    self.pos += 1;
                    let v = self.expr()?;
                    if self.peek() != Some(')') {
                        return Err("missing ')'".into());
                    }
                    self.pos += 1;
                    Ok(v)
                }
                Some(c) if c.is_ascii_digit() || c == '.' => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                        self.pos += 1;
                    }
                    let s: String = self.chars[start..self.pos].iter().collect();
                    s.parse().map_err(|_| format!("bad number '{s}'"))
                }
                Some(c) => Err(format!("unexpected '{c}'")),
                None => Err("unexpected end of expression".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calculator_evaluates_and_rejects() {
        let c = Calculator;
        let r = c
            .call(json!({"expression": "2 * (3 + 4) - 2^3"}))
            .await
            .unwrap();
        assert_eq!(r, "6");
        assert_eq!(c.call(json!({"expression": "7/2"})).await.unwrap(), "3.5");
        assert!(c.call(json!({"expression": "1/0"})).await.is_err());
        assert!(c.call(json!({"expression": "2 +"})).await.is_err());
        assert!(c.call(json!({})).await.is_err());
    }

    #[tokio::test]
    async fn current_time_is_rfc3339() {
        let t = CurrentTime.call(json!({})).await.unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(&t).is_ok(), "{t}");
        assert!(
            CurrentTime
                .call(json!({"utc_offset_hours": 99}))
                .await
                .is_err()
        );
    }
}
