//! The two ways the environment reaches the configuration: `${VAR}` and
//! `${VAR:-default}` in the file's strings, and `AGENTD_SECTION__FIELD`
//! variables that set any setting the file does or does not mention. Both
//! work on the parsed TOML tree, before it becomes typed sections.

/// The prefix of the variables that override settings.
pub const ENV_PREFIX: &str = "AGENTD_";

/// The variables among `vars` that override settings, sorted by name:
/// `AGENTD_` then a path of lower-cased names joined by `__`
/// (`AGENTD_SERVER__MAX_BODY_BYTES` is `server.max_body_bytes`,
/// `AGENTD_AGENTS__0__MODEL` is `agents[0].model`). Variables without a
/// `__` (`AGENTD_CONFIG`, `AGENTD_BIND`, `AGENTD_API_KEY`...) are not
/// overrides: they have their own meaning or feed `${VAR}` in the file.
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .filter(|(k, _)| k.strip_prefix(ENV_PREFIX).is_some_and(|r| r.contains("__")))
        .collect();
    out.sort();
    out
}

/// Sets the setting `var` names to `raw`. The value is read as a TOML value
/// (a number, boolean, array, inline table or quoted string) when it is
/// one, and as a plain string otherwise, or always when the file already
/// has a string there: `AGENTD_STORE__KIND=memory` and
/// `AGENTD_SERVER__MAX_CONCURRENT_RUNS=8` both do what they say, and a
/// string that looks like a number can be quoted (`'"12345"'`).
pub(super) fn apply_override(root: &mut toml::Value, var: &str, raw: &str) -> Result<(), String> {
    let path: Vec<String> = var
        .strip_prefix(ENV_PREFIX)
        .unwrap_or(var)
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(format!(
            "'{var}' is not a setting: use {ENV_PREFIX}SECTION__FIELD, with single \
             underscores inside names and double ones between them"
        ));
    }
    let (last, parents) = path.split_last().ok_or("the variable names no setting")?;
    let mut node = root;
    let mut at = String::new();
    for segment in parents {
        let next = match node {
            toml::Value::Table(t) => t
                .entry(segment.clone())
                .or_insert_with(|| toml::Value::Table(Default::default())),
            toml::Value::Array(items) => {
                let len = items.len();
                segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get_mut(i))
                    .ok_or_else(|| {
                        format!("'{at}' has {len} entries; '{segment}' is not the index of one")
                    })?
            }
            _ => return Err(format!("'{at}' is a value, not a section")),
        };
        at = if at.is_empty() {
            segment.clone()
        } else {
            format!("{at}.{segment}")
        };
        node = next;
    }
    let toml::Value::Table(table) = node else {
        return Err(format!("'{at}' is not a section"));
    };
    let value = match table.get(last) {
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_string()),
        _ => toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
    };
    table.insert(last.clone(), value);
    Ok(())
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string of the tree.
/// An unset variable without a default is an error naming the field, since a
/// silently empty API key or URL fails much later and far less clearly.
pub(super) fn interpolate(
    value: &mut toml::Value,
    field: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        toml::Value::String(s) => {
            *s = interpolate_str(s, env).map_err(|m| (field.to_string(), m))?;
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{field}[{i}]"), env)?;
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let f = if field.is_empty() {
                    k.clone()
                } else {
                    format!("{field}.{k}")
                };
                interpolate(v, &f, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) fn interpolate_str(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '${{' in '{s}'"))?;
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("'${{{expr}}}' is not a valid variable reference"));
        }
        match (env(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (use ${{{name}:-default}} for a default)"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
