//! What happens around a tool call, whatever the tool: its arguments are
//! checked against the tool's JSON Schema before it runs, and its result is
//! cut to the configured size with a marker saying so.

use serde_json::Value;

use crate::tools::Tool;

/// Errors listed in one "invalid arguments" answer.
const MAX_LISTED_ERRORS: usize = 5;

/// Checks a call's parsed arguments against the tool's schema. The error is
/// the message the model gets back, so it can fix the call. A tool whose
/// schema cannot be compiled (an MCP server's mistake) is called unchecked.
pub fn check_arguments(tool: &dyn Tool, arguments: &Value) -> Result<(), String> {
    let spec = tool.spec();
    if arguments.is_string() {
        return Err(format!(
            "Error: the arguments for '{}' are not valid JSON; send a JSON object.",
            spec.name
        ));
    }
    let validator = match jsonschema::validator_for(&spec.parameters) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(tool = %spec.name, error = %e, "the tool's schema does not compile; arguments not checked");
            return Ok(());
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(arguments)
        .take(MAX_LISTED_ERRORS)
        .map(|e| {
            let path = e.instance_path().to_string();
            let at = if path.is_empty() { "/" } else { path.as_str() };
            format!("at {at}: {e}")
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Error: invalid arguments for '{}': {}. The tool was not run; call it again with arguments that match its schema.",
        spec.name,
        errors.join("; ")
    ))
}

/// `text` cut to `max_chars` characters, with a marker when it was longer.
pub fn truncate(text: String, max_chars: usize) -> String {
    let Some((cut_at, _)) = text.char_indices().nth(max_chars) else {
        return text;
    };
    let total = text.chars().count();
    format!(
        "{}\n[truncated: the result was {total} characters; only the first {max_chars} are shown]",
        &text[..cut_at]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::builtin::Calculator;
    use serde_json::json;

    #[test]
    fn arguments_are_checked_against_the_schema() {
        assert!(check_arguments(&Calculator, &json!({"expression": "1+1"})).is_ok());
        let e = check_arguments(&Calculator, &json!({"expression": 5})).unwrap_err();
        assert!(e.contains("at /expression"), "{e}");
        let e = check_arguments(&Calculator, &json!({})).unwrap_err();
        assert!(e.contains("expression"), "{e}");
        let e = check_arguments(&Calculator, &json!("{not json")).unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn long_results_are_cut_with_a_marker() {
        assert_eq!(truncate("short".into(), 10), "short");
        assert_eq!(truncate("exactly10!".into(), 10), "exactly10!");
        let cut = truncate("é".repeat(30), 10);
        assert!(cut.starts_with(&"é".repeat(10)), "{cut}");
        assert!(
            cut.ends_with("[truncated: the result was 30 characters; only the first 10 are shown]"),
            "{cut}"
        );
    }
}
