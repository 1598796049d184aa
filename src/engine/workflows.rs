//! Saving workflows: content-addressed versions, read by the SDK's analysis.
//!
//! The analysis (inputs from `main`'s signature, `outputs=`, lint warnings)
//! is done by the SDK with Python's own `ast`, never by running the script.
//! It is stored by the source's hash, so saving a known source costs no
//! interpreter start.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Engine, EngineError, Result};
use crate::ids::{new_sid, sha1_hex};
use crate::model::{FlowField, LintWarning, Workflow, WorkflowVersion, now};
use crate::sdk;

/// A saved workflow and what the lint found in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedWorkflow {
    #[serde(flatten)]
    pub workflow: Workflow,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<LintWarning>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Analysis {
    description: String,
    inputs: Vec<FlowField>,
    outputs: Vec<FlowField>,
    warnings: Vec<LintWarning>,
}

#[derive(Debug, Deserialize)]
struct InspectFailure {
    error: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Engine {
    pub async fn workflow_save(
        &self,
        name: &str,
        source: String,
        file_name: Option<String>,
        description: Option<String>,
    ) -> Result<SavedWorkflow> {
        if !valid_name(name) {
            return Err(EngineError::InvalidParams(format!(
                "`{name}` is not a workflow name: use letters, digits, `_`, `-` and `.`"
            )));
        }
        let file_name = file_name
            .as_deref()
            .and_then(|f| std::path::Path::new(f).file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{name}.py"));
        let source_hash = sha1_hex(&[&source]);
        let analysis: Analysis = match self.store().analysis(&source_hash)? {
            Some(known) => serde_json::from_value(known)
                .map_err(|e| EngineError::Internal(format!("stored analysis: {e}")))?,
            None => self.inspect(&source, &file_name).await?,
        };
        let version_sid = sha1_hex(&[name, &source])[..16].to_owned();
        let name = name.to_owned();
        let saved_analysis = analysis.clone();
        let workflow = self
            .inner
            .writer
            .write(true, move |tx| {
                let at = now();
                let existing = tx.workflow_by_name(&name)?;
                let mut workflow = existing.clone().unwrap_or_else(|| Workflow {
                    sid: new_sid(),
                    name: name.clone(),
                    description: String::new(),
                    current_version_sid: String::new(),
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    created_at: at.clone(),
                    updated_at: at.clone(),
                });
                if !tx.version_exists(&version_sid)? {
                    tx.put_version(&WorkflowVersion {
                        sid: version_sid.clone(),
                        workflow_sid: workflow.sid.clone(),
                        source,
                        file_name,
                        created_at: at.clone(),
                    })?;
                    tx.put_analysis(
                        &source_hash,
                        &serde_json::to_value(&saved_analysis).expect("json"),
                    )?;
                }
                workflow.current_version_sid = version_sid;
                workflow.inputs = saved_analysis.inputs;
                workflow.outputs = saved_analysis.outputs;
                workflow.description = description.unwrap_or(saved_analysis.description);
                if existing.as_ref() != Some(&workflow) {
                    workflow.updated_at = at;
                    tx.put_workflow(&workflow)?;
                }
                Ok(workflow)
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
