//! [`Ctx`]: what every check gets — the transport, the plan drawn from the
//! fixture, the records learned from the server — and the helpers checks
//! share (sending as A, checking an error answer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde_json::Value;

use crate::call::{Call, Exchange, Problem, skip};
use crate::oracle::Records;
use crate::plan::{Account, Key, Plan, Repo};
use crate::report::Failure;
use crate::spec_facts::documented_codes;
use crate::transport::Transport;

/// Shared by every check of one run.
pub(crate) struct Ctx {
    pub transport: Transport,
    pub plan: Plan,
    /// Per repository label: its records, or why the server's unpaged
    /// listing could not serve as the oracle's input.
    pub records: HashMap<String, Result<Records, Failure>>,
    counter: AtomicU64,
}

/// An error answer, once its shape has been checked.
#[derive(Debug, Clone)]
pub(crate) struct ErrorBody {
    pub code: String,
    pub msg: String,
    pub detail: String,
    pub json: Value,
}

/// What error code an answer must carry.
pub(crate) enum Code {
    /// Exactly this one.
    Exact(String),
    /// Any the spec documents for the status.
    Documented,
    /// Any of the right form (`SVCSTG.SWR.{status}NNNN`).
    Any,
}

impl Ctx {
    pub fn new(transport: Transport, plan: Plan) -> Ctx {
        Ctx {
            transport,
            plan,
            records: HashMap::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// Sends `call`.
    pub async fn send(&self, call: Call) -> Exchange {
        call.send(&self.transport).await
    }

    /// A fresh `X-Request-Id` value.
    pub fn request_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("swr-conformance-{}-{n}", std::process::id())
    }

    /// Domain A, or a skip.
    pub fn a(&self) -> Result<&Account, Problem> {
        self.plan.a.as_ref().ok_or_else(|| {
            skip("the fixture has no domain with a token and a repository of 3 or more tags")
        })
    }

    /// A's main repository, or a skip.
    pub fn main(&self) -> Result<&Repo, Problem> {
        self.plan.main.as_ref().ok_or_else(|| {
            skip("the fixture has no domain with a token and a repository of 3 or more tags")
        })
    }

    /// A's AK/SK pair, or a skip.
    pub fn key(&self) -> Result<&Key, Problem> {
        self.a()?
            .key
            .as_ref()
            .ok_or_else(|| skip("the fixture gives domain A no AK/SK pair"))
    }

    /// The records learned for `repo`, or a skip naming the check that
    /// reported why there are none.
    pub fn records(&self, repo: &Repo) -> Result<&Records, Problem> {
        match self.records.get(&repo.label()) {
            Some(Ok(r)) => Ok(r),
            _ => Err(skip(format!(
                "needs the records of {}, which the server's unpaged listing did not give (see paging.unpaged_records)",
                repo.label()
            ))),
        }
    }

    /// A GET of `repo` with its owner's token and `query`.
    pub fn get(&self, repo: &Repo, query: &[(&str, &str)]) -> Call {
        Call::get(repo.path())
            .query(query)
            .token(&repo.token, &format!("token of {}", repo.domain))
    }

    /// A GET of `path` with A's token.
    pub fn get_as_a(&self, path: &str) -> Result<Call, Problem> {
        let a = self.a()?;
        Ok(Call::get(path).token(&a.token, &format!("token of {}", a.domain)))
    }

    /// A GET of `path` signed with A's key now.
    pub fn signed_as_a(&self, path: &str) -> Result<Call, Problem> {
        let a = self.a()?;
        let key = self.key()?;
        Ok(Call::get(path).signed(key, &format!("AK/SK of {}", a.domain), SystemTime::now()))
    }
}

/// Checks that `ex` is an error answer of `status` in the spec's shape:
/// JSON `error_code`/`error_msg` plus `errors[0]` with the same code and
/// message and a `detail`, the code `SVCSTG.SWR.{status}NNNN` and as `code`
/// demands, and `error_msg` naming each of `names`.
pub(crate) fn expect_error(
    ex: &Exchange,
    status: u16,
    code: Code,
    names: &[&str],
) -> Result<ErrorBody, Problem> {
    let r = ex.expect_status(status)?;
    if !r
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json"))
    {
        return Err(ex.fail("an error body must be application/json"));
    }
    let json = ex.json()?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let (Some(err_code), Some(msg)) = (text(&json["error_code"]), text(&json["error_msg"])) else {
        return Err(ex.fail("the body lacks the string fields error_code and error_msg"));
    };
    let first = &json["errors"][0];
    if text(&first["errorCode"]).as_deref() != Some(&err_code)
        || text(&first["errorMessage"]).as_deref() != Some(&msg)
    {
        return Err(ex.fail("errors[0].errorCode/errorMessage must repeat error_code/error_msg"));
    }
    let Some(detail) = text(&first["detail"]) else {
        return Err(ex.fail("errors[0].detail must be a string"));
    };
    let prefix = format!("SVCSTG.SWR.{status}");
    let digits = err_code.strip_prefix(&prefix).unwrap_or_default();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ex.fail(format!(
            "error_code {err_code:?} is not of the form {prefix}NNNN"
        )));
    }
    match code {
        Code::Exact(want) if err_code != want => {
            return Err(ex.fail(format!("error_code is {err_code}, expected {want}")));
        }
        Code::Documented => {
            let documented = documented_codes(status);
            if !documented.contains(&err_code) {
                return Err(ex.fail(format!(
                    "error_code {err_code} is not one the spec documents for {status} ({})",
                    documented.join(", ")
                )));
            }
        }
        Code::Exact(_) | Code::Any => {}
    }
    if let Some(missing) = names.iter().find(|n| !msg.contains(**n)) {
        return Err(ex.fail(format!("error_msg {msg:?} does not name {missing}")));
    }
    Ok(ErrorBody {
        code: err_code,
        msg,
        detail,
        json,
    })
}
