//! Saving workflows: content-addressed versions, read by the SDK's analysis.
//!
//! The analysis (inputs from `main`'s signature, `outputs=`, lint warnings)
//! is done by the SDK with Python's own `ast`, never by running the script.
//! It is stored by the source's hash, so saving a known source costs no
//! interpreter start.
//!
//! A workflow remembers the file it was saved from: a save from another
//! file under a taken name is refused unless asked to replace, so two
//! `flow.py` files never silently become versions of one workflow.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Engine, EngineError, Result};
use crate::api::SavedWorkflow;
use crate::ids::{new_sid, sha1_hex};
use crate::model::{FlowField, LintWarning, Workflow, WorkflowVersion, now};
use crate::sdk;
use crate::store::writer::Plan;

/// What `workflow_save` asks for.
#[derive(Debug, Clone, Default)]
pub struct SaveWorkflow {
    /// The name; absent, `@flow(name=...)` on `main`, else `file_name`'s stem.
    pub name: Option<String>,
    pub source: String,
    pub file_name: Option<String>,
    pub description: Option<String>,
    /// The absolute path of the file, compared with the workflow's own.
    pub source_path: Option<String>,
    /// Lets a save from another file become the workflow's next version.
    pub replace: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Analysis {
    /// `@flow(name=...)` on `main`.
    #[serde(default)]
    name: Option<String>,
    /// `main(**kwargs)` takes any input key.
    #[serde(default)]
    any_keyword: bool,
    description: String,
    inputs: Vec<FlowField>,
    outputs: Vec<FlowField>,
    warnings: Vec<LintWarning>,
}

#[derive(Debug, Deserialize)]
struct InspectFailure {
    error: String,
}

fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::InvalidParams(format!(
            "`{name}` is not a workflow name: use letters, digits, `_`, `-` and `.`"
        )))
    }
}

/// The refusal of a save from another file than the workflow's own; none
/// when either path is unknown or the caller asked to replace.
fn other_file(
    workflow: &Workflow,
    source_path: Option<&str>,
    replace: bool,
) -> Option<EngineError> {
    let theirs = workflow.source_path.as_deref()?;
    let ours = source_path?;
    if replace || theirs == ours {
        return None;
    }
    let name = &workflow.name;
    Some(
        EngineError::InvalidParams(format!(
            "workflow `{name}` was saved from {theirs}, not from {ours}"
        ))
        .with_hint(format!(
            "save {ours} under its own name with `--name NAME` or `@flow(name=\"...\")` on its main, or pass `--replace` (RPC: `replace: true`) to make it the next version of `{name}`"
        )),
    )
}

/// The workflow a save of `version_sid` makes of `existing` (a new one when
/// none): `updated_at` moves only when something else changed.
fn next_workflow(
    existing: Option<&Workflow>,
    name: &str,
    source_path: Option<String>,
    version_sid: &str,
    analysis: &Analysis,
    description: Option<String>,
    at: String,
) -> Workflow {
    let mut workflow = existing.cloned().unwrap_or_else(|| Workflow {
        sid: new_sid(),
        name: name.to_owned(),
        description: String::new(),
        current_version_sid: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        created_at: at.clone(),
        updated_at: at.clone(),
        source_path: None,
    });
    if source_path.is_some() {
        workflow.source_path = source_path;
    }
    workflow.current_version_sid = version_sid.to_owned();
    workflow.inputs = analysis.inputs.clone();
    workflow.outputs = analysis.outputs.clone();
    workflow.description = description.unwrap_or_else(|| analysis.description.clone());
    if existing != Some(&workflow) {
        workflow.updated_at = at;
    }
    workflow
}

impl Engine {
    pub async fn workflow_save(&self, request: SaveWorkflow) -> Result<SavedWorkflow> {
        let SaveWorkflow {
            name,
            source,
            file_name,
            description,
            source_path,
            replace,
        } = request;
        if let Some(name) = &name {
            check_name(name)?;
        }
        let given_file = file_name
            .as_deref()
            .and_then(|f| std::path::Path::new(f).file_name())
            .map(|f| f.to_string_lossy().into_owned());
        let source_hash = sha1_hex(&[&source]);
        let scratch_name = given_file.clone().unwrap_or_else(|| "flow.py".to_owned());
        // An analysis stored before the SDK reported `name` and
        // `any_keyword` is done again.
        let (analysis, fresh) = match self.store().analysis(&source_hash)? {
            Some(known) if known.get("any_keyword").is_some() => (
                serde_json::from_value(known)
                    .map_err(|e| EngineError::Internal(format!("stored analysis: {e}")))?,
                false,
            ),
            _ => (self.inspect(&source, &scratch_name).await?, true),
        };
        let stem = given_file.as_deref().and_then(|f| {
            std::path::Path::new(f)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        });
        let Some(name) = name.or(analysis.name.clone()).or(stem) else {
            return Err(EngineError::InvalidParams(
                "a workflow needs a name: give `name`, `@flow(name=...)` on main, or `file_name`"
                    .into(),
            ));
        };
        check_name(&name)?;
        let file_name = given_file.unwrap_or_else(|| format!("{name}.py"));
        let version_sid = sha1_hex(&[&name, &source])[..16].to_owned();
        // Saving what is saved already (every `play start FILE` of an
        // unchanged file) is answered from a read: nothing to write, so no
        // wait for the writer and its fsync.
        if !fresh
            && let Some(existing) = self.store().workflow(&name)?
            && existing.name == name
            && other_file(&existing, source_path.as_deref(), replace).is_none()
            && self.store().version(&version_sid)?.is_some()
        {
            let next = next_workflow(
                Some(&existing),
                &name,
                source_path.clone(),
                &version_sid,
                &analysis,
                description.clone(),
                now(),
            );
            if next == existing {
                return Ok(SavedWorkflow {
                    workflow: existing,
                    warnings: analysis.warnings,
                });
            }
        }
        let saved_analysis = analysis.clone();
        let workflow = self
            .inner
            .writer
            .durable(move |snapshot| {
                let existing = snapshot.workflow_by_name(&name)?;
                if let Some(conflict) = existing
                    .as_ref()
                    .and_then(|w| other_file(w, source_path.as_deref(), replace))
                {
                    return Err(conflict);
                }
                let at = now();
                let workflow = next_workflow(
                    existing.as_ref(),
                    &name,
                    source_path,
                    &version_sid,
                    &saved_analysis,
                    description,
                    at.clone(),
                );
                let version = (!snapshot.version_exists(&version_sid)?).then(|| WorkflowVersion {
                    sid: version_sid.clone(),
                    workflow_sid: workflow.sid.clone(),
                    source,
                    file_name,
                    created_at: at,
                });
                let changed = existing.as_ref() != Some(&workflow);
                Ok(Plan::new(move |tx| {
                    if let Some(version) = &version {
                        tx.put_version(version)?;
                    }
                    if fresh {
                        tx.put_analysis(
                            &source_hash,
                            &serde_json::to_value(&saved_analysis).expect("json"),
                        )?;
                    }
                    if changed {
                        tx.put_workflow(&workflow)?;
                    }
                    Ok(workflow)
                }))
            })
            .await?;
        Ok(SavedWorkflow {
            workflow,
            warnings: analysis.warnings,
        })
    }

    /// Runs the SDK's `inspect` on a source, from a scratch file that bears
    /// the real file name so Python's messages name it.
    async fn inspect(&self, source: &str, file_name: &str) -> Result<Analysis> {
        let config = &self.inner.config;
        let scratch = config.data_dir.join("tmp").join(new_sid());
        let io = |e: std::io::Error| EngineError::Internal(format!("inspect: {e}"));
        std::fs::create_dir_all(&scratch).map_err(io)?;
        let file = scratch.join(file_name);
        std::fs::write(&file, source).map_err(io)?;
        let output = tokio::process::Command::new(&config.python)
            .arg("-m")
            .arg("hero_tracing")
            .arg("inspect")
            .arg(&file)
            .env("PYTHONPATH", sdk::dir(&config.data_dir))
            .stdin(std::process::Stdio::null())
            .output()
            .await;
        let _ = std::fs::remove_dir_all(&scratch);
        let output = output.map_err(|e| {
            EngineError::Internal(format!(
                "cannot start {} to read the flow: {e} (set HERO_LOGIC_PYTHON)",
                config.python.display()
            ))
        })?;
        let report: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
            EngineError::Internal(format!(
                "the SDK could not read the flow: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        })?;
        if report["ok"] == Value::Bool(true) {
            serde_json::from_value(report)
                .map_err(|e| EngineError::Internal(format!("the SDK's analysis: {e}")))
        } else {
            let failure: InspectFailure = serde_json::from_value(report)
                .map_err(|e| EngineError::Internal(format!("the SDK's analysis: {e}")))?;
            Err(EngineError::BadSource(failure.error))
        }
    }
}
