//! Asking a person for a pause's answer, by its `ui.kind`.
//!
//! The one prompt code behind `hero_logic resume SID` and the dashboard's
//! answer key: Confirm, Input (with validation for `text` and for `number`
//! within `min`/`max`), Select and MultiSelect. The answer is checked
//! against the pause's JSON Schema before it is returned, so what is sent
//! is what the server will accept.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Select};
use serde_json::{Value, json};

use crate::api::violations;
use crate::model::ResumeRequest;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("pause `{0}` has no form (ui is null): answer it with `hero_logic resume SID ID JSON`")]
    NoForm(String),
    #[error("pause `{name}` has an unknown ui.kind `{kind}`")]
    UnknownKind { name: String, kind: String },
    /// Esc or `q` on a choice: the person chose not to answer now.
    #[error("left unanswered")]
    Cancelled,
    #[error(transparent)]
    Terminal(#[from] dialoguer::Error),
}

/// The question shown for a pause.
pub fn question(request: &ResumeRequest) -> String {
    request.ui["prompt"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| request.name.clone())
}

fn options(ui: &Value) -> Vec<Value> {
    ui["options"].as_array().cloned().unwrap_or_default()
}

fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Asks on the terminal until the answer fits the schema.
pub fn ask(request: &ResumeRequest) -> Result<Value, PromptError> {
    if request.ui.is_null() {
        return Err(PromptError::NoForm(request.name.clone()));
    }
    let theme = ColorfulTheme::default();
    let prompt = question(request);
    let ui = &request.ui;
    let kind = ui["kind"].as_str().unwrap_or("text");
    loop {
        let answer = match kind {
            "confirm" => {
                let mut c = Confirm::with_theme(&theme).with_prompt(&prompt);
                if let Some(d) = ui["default"].as_bool() {
                    c = c.default(d);
                }
                json!(c.interact_opt()?.ok_or(PromptError::Cancelled)?)
            }
            "text" => {
                let mut input = Input::<String>::with_theme(&theme).with_prompt(&prompt);
                if let Some(d) = ui["default"].as_str() {
                    input = input.default(d.to_owned());
                }
                json!(input.interact_text()?)
            }
            "number" => {
                let min = ui["min"].as_f64();
                let max = ui["max"].as_f64();
                let mut input = Input::<String>::with_theme(&theme)
                    .with_prompt(&prompt)
                    .validate_with(move |text: &String| check_number(text, min, max));
                if let Some(d) = ui.get("default").filter(|d| d.is_number()) {
                    input = input.default(d.to_string());
                }
                number_value(&input.interact_text()?)
            }
            "choice" => {
                let opts = options(ui);
                let labels: Vec<String> = opts.iter().map(label).collect();
                let default = opts
                    .iter()
                    .position(|o| Some(o) == ui.get("default"))
                    .unwrap_or(0);
                let picked = Select::with_theme(&theme)
                    .with_prompt(&prompt)
                    .items(&labels)
                    .default(default)
                    .interact_opt()?
                    .ok_or(PromptError::Cancelled)?;
                opts[picked].clone()
            }
            "multi_choice" => {
                let opts = options(ui);
                let labels: Vec<String> = opts.iter().map(label).collect();
                let defaults: Vec<bool> = opts
                    .iter()
                    .map(|o| ui["default"].as_array().is_some_and(|d| d.contains(o)))
                    .collect();
                let picked = MultiSelect::with_theme(&theme)
                    .with_prompt(&prompt)
                    .items(&labels)
                    .defaults(&defaults)
                    .interact_opt()?
                    .ok_or(PromptError::Cancelled)?;
                Value::Array(picked.into_iter().map(|i| opts[i].clone()).collect())
            }
            other => {
                return Err(PromptError::UnknownKind {
                    name: request.name.clone(),
                    kind: other.to_owned(),
                });
            }
        };
        let problems = violations(&request.schema, &answer);
        if problems.is_empty() {
            return Ok(answer);
        }
        eprintln!("that answer does not fit: {}", problems.join("; "));
    }
}

/// Validates a typed number for `ui.kind == "number"`.
pub fn check_number(text: &str, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    let n: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if let Some(min) = min
        && n < min
    {
        return Err(format!("at least {min}"));
    }
    if let Some(max) = max
        && n > max
    {
        return Err(format!("at most {max}"));
    }
    Ok(())
}

/// An integer when the text is one, so `{"type": "integer"}` accepts it.
pub fn number_value(text: &str) -> Value {
    let t = text.trim();
    t.parse::<i64>()
        .map(Value::from)
        .or_else(|_| t.parse::<f64>().map(Value::from))
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_against_min_and_max() {
        assert!(check_number("5", Some(1.0), Some(10.0)).is_ok());
        assert!(check_number("0", Some(1.0), None).is_err());
        assert!(check_number("11", None, Some(10.0)).is_err());
        assert!(check_number("x", None, None).is_err());
        assert_eq!(number_value("3"), json!(3));
        assert_eq!(number_value("2.5"), json!(2.5));
    }
}
