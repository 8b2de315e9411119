// Package report owns what `targetsync plan` and `targetsync status` print for programs: a
// stable schema (Plan, Status) written as JSON or YAML, and the status table people read.
//
// Its rules:
//   - Keys are lowerCamel and, once released, never renamed or removed; new fields are only
//     added. Lists are always present ([] rather than null), so a consumer can range over them.
//   - Every kind carries apiVersion (APIVersion) and kind, so a consumer can tell what it reads.
//   - Values are plain: addresses and ports as in the table, times in RFC 3339 UTC, AWS's state
//     and reason codes as AWS spells them.
//   - It renders what it is handed and nothing else: it never calls AWS or the API server, and
//     it does not decide anything (pkg/controller fills Plan and the parts of Status that need
//     its reasons).
//
// The plan table is pkg/controller's WritePlan; Plan carries the same rows and summaries.
package report
