//! duban's integration tests: one binary, one module per capability. Storage tests run on
//! SQLite, PostgreSQL and MariaDB (see `support`); CLI tests run the real `duban` binary.

#[macro_use]
mod support;

// The crate graph keeps the pure core free of I/O; checked from `cargo metadata`.
mod layering;
// Migrations up and down, and exact money at rest, on every backend.
mod storage;
// Durable timers: claiming, leases and fencing, re-planning.
mod timers;
// The engine: chains driven by a test clock, completions, catch-up, several nodes.
mod engine;
mod nodes;
// Answers recorded while ticks and re-plans work on the same chains.
mod races;
// `duban import register` and `duban register coverage` through the binary.
mod register;
// `duban import members` and the members' lists, through the binary and the API.
mod members;
// `duban bank preview` on real bank statements.
mod bank;
// A city's year of payments matched with three banks' statements, every month reconciled.
mod bank_year;
// Bank statement profiles saved from a preview, through the binary and the API.
mod bank_profiles;
// `duban serve`, `/healthz`, graceful shutdown; `duban config`.
mod serve;
// `duban workflows check|schema|simulate` and `duban calendar` through the binary.
mod workflows;
// Email through a real SMTP server (aiosmtpd) and SMS through local gateways that check signatures.
mod dispatch;
mod notify;
// Journeys through the binary: each shipped chain answered as people would, held to its simulation.
mod journeys;
// Several nodes: leases renewed across long passes, a dispatcher killed mid-batch, migrations
// started together; messages counted at a slow local SMS gateway.
mod leases;
// The HTTP API and the signed-link pages through the real router: roles, scoping, CSRF,
// lockout, idempotency, problem details, links.
mod api;
// The funds ledger: budget control under concurrent writers, idempotency, hledger export.
mod ledger;
// The web pages through the router as each role, and in headless Chromium.
mod pages;
// The finance officer's pages: budget execution, allocation and disbursement forms, lists, a
// unit's fund ledger, and the over-headroom refusal in headless Chromium.
mod finance_pages;
// The reconciliation pages: bank accounts, statement import, lines, matching, three-way.
mod bank_pages;
// `duban backup` under load, `duban restore` and its refusals; pg_dump and mariadb-dump.
mod backup;
// The audit log's hash chain: verify finds tampering, concurrent writers, upgrades, exports.
mod audit;
// The reports finance officers hand upward: budget execution, a unit's fund ledger, bank
// reconciliation, dues; through the binary and the router, before and after a year close.
mod reports;
// Open organisational-life bases: bookings through the binary, races on every backend, the router.
mod bases;
