//! The start form: one text field per input of a workflow's `main`, each
//! parsed by its declared type before anything is sent.
//!
//! The server checks `input_data` again (`play_start`), so this is for
//! telling the user early and in place, not for safety.

use serde_json::{Map, Value};
use tui_input::{Input, InputRequest};

use crate::model::{FieldType, FlowField, Workflow};

/// One input of the form.
#[derive(Debug, Clone)]
pub struct Field {
    pub spec: FlowField,
    pub input: Input,
    /// Why the last submitted text was refused.
    pub error: Option<String>,
}

/// The form that starts a play of `workflow`.
#[derive(Debug, Clone)]
pub struct StartForm {
    pub workflow: Workflow,
    pub fields: Vec<Field>,
    /// The field that has the keyboard.
    pub focus: usize,
    /// Why the server refused the last submission.
    pub error: Option<String>,
}

impl StartForm {
    pub fn new(workflow: Workflow) -> StartForm {
        let fields = workflow
            .inputs
            .iter()
            .map(|spec| Field {
                input: Input::new(default_text(spec)),
                spec: spec.clone(),
                error: None,
            })
            .collect();
        StartForm {
            workflow,
            fields,
            focus: 0,
            error: None,
        }
    }

    pub fn edit(&mut self, request: InputRequest) {
        if let Some(field) = self.fields.get_mut(self.focus) {
            field.input.handle(request);
            field.error = None;
        }
    }

    pub fn next(&mut self) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + 1) % self.fields.len();
        }
    }

    pub fn previous(&mut self) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + self.fields.len() - 1) % self.fields.len();
        }
    }

    /// The `input_data` object, or `None` with each bad field's error set
    /// and the keyboard on the first of them.
    pub fn submit(&mut self) -> Option<Value> {
        let mut data = Map::new();
        let mut first_bad = None;
        for (i, field) in self.fields.iter_mut().enumerate() {
            match parse(&field.spec, field.input.value()) {
                Ok(Some(value)) => {
                    data.insert(field.spec.name.clone(), value);
                }
                Ok(None) => {}
                Err(e) => {
                    field.error = Some(e);
                    first_bad.get_or_insert(i);
                }
            }
        }
        match first_bad {
            Some(i) => {
                self.focus = i;
                None
            }
            None => Some(Value::Object(data)),
        }
    }
}

/// What a field shows before the user types: its default.
fn default_text(spec: &FlowField) -> String {
    match &spec.default {
        Value::Null => String::new(),
        Value::String(s) if spec.ty == FieldType::Str => s.clone(),
        other => other.to_string(),
    }
}

/// Parses the text of one field by its type; `Ok(None)` leaves an empty,
/// optional field out so that `main`'s own default applies.
pub fn parse(spec: &FlowField, text: &str) -> Result<Option<Value>, String> {
    let trimmed = text.trim();
    // Spaces are text in a `str` field, and nothing in any other.
    let blank = match spec.ty {
        FieldType::Str => text.is_empty(),
        _ => trimmed.is_empty(),
    };
    if blank {
        return if spec.required {
            Err("needs a value".into())
        } else {
            Ok(None)
        };
    }
    let value = match spec.ty {
        FieldType::Str => Value::String(text.to_owned()),
        FieldType::Int => trimmed
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{trimmed}` is not a whole number"))?,
        FieldType::Float => match trimmed.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => trimmed
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::from)
                .ok_or_else(|| format!("`{trimmed}` is not a number"))?,
        },
        FieldType::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => return Err(format!("`{trimmed}` is not yes or no")),
        },
        FieldType::List => match serde_json::from_str(trimmed) {
            Ok(v @ Value::Array(_)) => v,
            _ => return Err("a JSON list, e.g. [1, 2]".into()),
        },
        FieldType::Dict => match serde_json::from_str(trimmed) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err(r#"a JSON object, e.g. {"a": 1}"#.into()),
        },
        // Anything that is not JSON is taken as the text it is.
        FieldType::Any => {
            serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(text.to_owned()))
        }
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(ty: FieldType, required: bool) -> FlowField {
        FlowField {
            name: "x".into(),
            ty,
            required,
            default: Value::Null,
        }
    }

    #[test]
    fn each_type_parses_its_text() {
        use FieldType::*;
        type Case = (FieldType, bool, &'static str, Result<Option<Value>, ()>);
        let cases: &[Case] = &[
            (Str, true, "ada", Ok(Some(json!("ada")))),
            (Str, true, " spaced ", Ok(Some(json!(" spaced ")))),
            (Str, true, "", Err(())),
            (Str, false, "", Ok(None)),
            (Int, true, "42", Ok(Some(json!(42)))),
            (Int, true, " -3 ", Ok(Some(json!(-3)))),
            (Int, true, "4.5", Err(())),
            (Int, false, "  ", Ok(None)),
            (Int, true, "  ", Err(())),
            (Float, true, "2.5", Ok(Some(json!(2.5)))),
            (Float, true, "3", Ok(Some(json!(3)))),
            (Float, true, "inf", Err(())),
            (Float, true, "x", Err(())),
            (Bool, true, "yes", Ok(Some(json!(true)))),
            (Bool, true, "False", Ok(Some(json!(false)))),
            (Bool, true, "maybe", Err(())),
            (List, true, "[1, 2]", Ok(Some(json!([1, 2])))),
            (List, true, "1, 2", Err(())),
            (List, true, "{}", Err(())),
            (Dict, true, r#"{"a": 1}"#, Ok(Some(json!({"a": 1})))),
            (Dict, true, "[]", Err(())),
            (Any, true, "[1]", Ok(Some(json!([1])))),
            (Any, true, "plain words", Ok(Some(json!("plain words")))),
        ];
        for (ty, required, text, expected) in cases {
            let got = parse(&field(*ty, *required), text).map_err(|_| ());
            assert_eq!(&got, expected, "{ty:?} required={required} {text:?}");
        }
    }

    #[test]
    fn a_form_prefills_defaults_and_points_at_the_first_bad_field() {
        let workflow = crate::tui::fixtures::workflow(
            "order",
            vec![
                FlowField {
                    name: "customer".into(),
                    ty: FieldType::Str,
                    required: true,
                    default: Value::Null,
                },
                FlowField {
                    name: "amount".into(),
                    ty: FieldType::Float,
                    required: false,
                    default: json!(1.5),
                },
            ],
        );
        let mut form = StartForm::new(workflow);
        assert_eq!(form.fields[1].input.value(), "1.5");
        form.focus = 1;
        assert_eq!(form.submit(), None);
        assert_eq!(form.focus, 0, "the keyboard goes to the missing field");
        assert_eq!(form.fields[0].error.as_deref(), Some("needs a value"));
        for c in "ada".chars() {
            form.edit(InputRequest::InsertChar(c));
        }
        assert_eq!(form.fields[0].error, None, "typing clears the error");
        assert_eq!(
            form.submit(),
            Some(json!({"customer": "ada", "amount": 1.5}))
        );
    }
}
