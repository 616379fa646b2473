//! Fail-closed spending: every LLM call reserves its estimated tokens from the
//! ticket's budget with a conditional write before it is made, and settles the
//! reservation with the real usage after. When the reservation fails, the call
//! is not made.

use async_trait::async_trait;
use nightshift_core::StoreError;
use nightshift_core::clock::Clock;
use nightshift_core::llm::{ChatRequest, ChatResponse, LlmError, LlmProvider};
use nightshift_core::ports::BudgetLedger;
use std::sync::Arc;

/// An LLM provider that spends from one ticket's budget.
#[derive(Clone)]
pub struct Budgeted {
    inner: Arc<dyn LlmProvider>,
    ledger: Arc<dyn BudgetLedger>,
    clock: Arc<dyn Clock>,
    ticket_id: String,
}

impl Budgeted {
    pub fn new(
        inner: Arc<dyn LlmProvider>,
        ledger: Arc<dyn BudgetLedger>,
        clock: Arc<dyn Clock>,
        ticket_id: &str,
    ) -> Self {
        Self {
            inner,
            ledger,
            clock,
            ticket_id: ticket_id.to_string(),
        }
    }

    /// Reserves, calls, settles. The reservation id is fresh per call, so a
    /// retried call is a new reservation and never double-commits an old one.
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let asked = req.estimated_tokens();
        let rid = nightshift_core::new_id(&format!("llm-{}", self.ticket_id));
        match self
            .ledger
            .reserve(&self.ticket_id, &rid, asked, self.clock.now())
            .await
        {
            Ok(_) => {}
            Err(StoreError::BudgetExhausted { available, .. }) => {
                return Err(LlmError::BudgetExhausted {
                    ticket_id: self.ticket_id.clone(),
                    asked,
                    available,
                });
            }
            Err(e) => {
                // Fail closed: without a reservation there is no call.
                return Err(LlmError::Transport {
                    provider: "budget ledger".into(),
                    message: format!("could not reserve tokens: {e}"),
                    source: Some(Box::new(e)),
                });
            }
        }
        match self.inner.chat(req).await {
            Ok(resp) => {
                if let Err(e) = self.ledger.commit(&rid, resp.usage.total()).await {
                    tracing::error!(ticket_id = %self.ticket_id, reservation = %rid, error = %e, "could not commit LLM spending; the reservation stays held");
                }
                Ok(resp)
            }
            Err(err) => {
                if let Err(e) = self.ledger.release(&rid).await {
                    tracing::warn!(ticket_id = %self.ticket_id, reservation = %rid, error = %e, "could not release an unused reservation");
                }
                Err(err)
            }
        }
    }
}

#[async_trait]
impl LlmProvider for Budgeted {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Budgeted::chat(self, req).await
    }
}
