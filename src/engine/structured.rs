//! Structured output: an agent with a response schema answers JSON, and the
//! run's result is that JSON parsed and validated, or a typed failure.
//!
//! Provider-neutral: whichever backend produced the text (OpenAI
//! `response_format`, Anthropic's forced tool, the builtin echo), the check
//! is the same. Depends on nothing in the crate.

use serde_json::Value;

/// How many schema violations a failure message lists.
const MAX_LISTED_ERRORS: usize = 5;

/// The answer's JSON text and value, valid against `schema`, or why not.
pub(crate) fn parse_and_validate(text: &str, schema: &Value) -> Result<(String, Value), String> {
    let json = strip_fence(text);
    if json.is_empty() {
        return Err("the model gave no answer, but the agent requires JSON output".to_string());
    }
    let (json, value) = match serde_json::from_str::<Value>(json) {
        Ok(v) => (json, v),
        // Models without native structured output often wrap JSON in prose.
        Err(e) => embedded_json(json).ok_or_else(|| {
            format!(
                "the model's answer is not valid JSON ({e}): {}",
                json.chars().take(200).collect::<String>()
            )
        })?,
    };
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the response schema is not a valid JSON Schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .take(MAX_LISTED_ERRORS)
        .map(|e| {
            let path = e.instance_path().to_string();
            let at = if path.is_empty() { "/" } else { path.as_str() };
            format!("at {at}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok((json.to_string(), value))
    } else {
        Err(format!(
            "the model's answer does not match the response schema: {}",
            errors.join("; ")
        ))
    }
}

/// The JSON object or array between the first opening and the last closing
/// bracket of `text`, if that parses.
fn embedded_json(text: &str) -> Option<(&str, Value)> {
    let start = text.find(['{', '['])?;
    let close = if text[start..].starts_with('{') {
        '}'
    } else {
        ']'
    };
    let end = text.rfind(close)?;
    let slice = text.get(start..=end)?;
    serde_json::from_str(slice).ok().map(|v| (slice, v))
}

/// The JSON inside a Markdown code fence, which models add unasked.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return t;
    };
    // Drop the info string (`json`) on the fence's first line.
    match body.split_once('\n') {
        Some((_, inner)) => inner.trim(),
        None => body.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "required": ["city"],
               "properties": {"city": {"type": "string"}, "n": {"type": "integer"}}})
    }

    #[test]
    fn valid_answers_parse() {
        let ok = |text: &str| parse_and_validate(text, &schema()).unwrap();
        assert_eq!(ok(r#"{"city":"Oslo"}"#).1, json!({"city": "Oslo"}));
        assert_eq!(
            ok("```json\n{\"city\":\"Oslo\"}\n```"),
            (r#"{"city":"Oslo"}"#.to_string(), json!({"city": "Oslo"}))
        );
        assert_eq!(
            ok(r#"Here you go: {"city":"Oslo"} Enjoy!"#).0,
            r#"{"city":"Oslo"}"#
        );
    }

    #[test]
    fn violations_and_non_json_are_explained() {
        let err = parse_and_validate(r#"{"n":"x"}"#, &schema()).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        assert!(err.contains("city"), "{err}");
        assert!(err.contains("/n"), "{err}");
        assert!(
            parse_and_validate("Oslo", &schema())
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(parse_and_validate("  ", &schema()).is_err());
    }
}
