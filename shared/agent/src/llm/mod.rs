//! LLM adapters land here.
