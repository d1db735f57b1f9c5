// Package mock is an HTTP server that behaves like the Huawei Cloud IoTDA
// (v5) device-policy API on the wire. Every test of the project talks to it
// through a real socket (see [NewTestServer]); the demo runs it as a program
// (cmd/iotda-mock).
//
// Everything it does comes from the official IoTDA API pages of the
// device-policy operations. Where they are silent the mock makes a choice,
// listed below. Clients and the provider must not depend
// on these choices: they key on HTTP statuses and documented error codes only.
//
// The mock does not import the client (internal/iotda; only the shared
// signer package): it decodes requests and encodes answers with wire types
// of its own, written from the reference ([Policy], [BindResult] and the
// others), so a misreading of the API in the client is not agreed with by
// the mock. The examples of the API pages (internal/apigolden) are decoded
// into these types and sent to the mock by its tests, whose answers must
// match the published ones; the client's tests check the client against
// the same examples.
//
// # Operations
//
// The eight operations live under /v5/iot/{project_id}/device-policies.
// They are the rows of one route table (routes.go: operation, method, path
// pattern, whether it reads a JSON body, handler); another API object is
// its rows there and their handlers:
//
//	POST   /device-policies                         CreateDevicePolicy         201
//	GET    /device-policies?app_id=&policy_name=&limit=&marker=&offset=
//	                                                ListDevicePolicies         200
//	GET    /device-policies/{policy_id}             ShowDevicePolicy           200
//	PUT    /device-policies/{policy_id}             UpdateDevicePolicy         200
//	DELETE /device-policies/{policy_id}             DeleteDevicePolicy         204, empty body
//	POST   /device-policies/{policy_id}/bind        BindDevicePolicy           200
//	POST   /device-policies/{policy_id}/unbind      UnbindDevicePolicy         200
//	POST   /device-policies/{policy_id}/list-targets ShowTargetsInDevicePolicy 200
//
// Every response carries an X-Request-Id header (32 random lower-case hex
// digits). Errors have the body {"error_code": ..., "error_msg": ...}; the
// gateway's own errors (APIGW.*) add "request_id".
//
// A request is handled in this order: routing (unknown paths and methods are
// answered at once), counting, latency, the authentication checks that need
// no body (the token; or the Authorization header, date, access key, scope,
// signed headers and security token of a signature), the announced body
// size, reading the body, the signature over the body, project check,
// injected faults, then the operation itself: the Instance-Id header, the
// media type, the body or query, and only then the existence of the policy.
// So a request with both a bad body and an unknown policy id gets the 400,
// and a request that cannot be authentic is answered before its body is
// read. At most [Config.MaxBodies] requests (32 by default) have their
// bodies in memory at once; the others wait for their turn before reading
// theirs, at most [Config.BodyWait] (2 seconds by default), and are then
// answered 503 IOTDA.000503 with Retry-After: 1, so slow senders holding
// every buffer cannot stall other clients longer than that. A body that
// cannot be read in full is answered before any check that needs it: 408
// IOTDA.000408 when the server's read timeout cut it, 400 IOTDA.000008 when
// it is malformed (a broken chunked encoding, shorter than announced), in
// both cases closing the connection; never a success.
//
// # State
//
// State is kept per project and per instance (the Instance-Id header; no
// header means the default instance, which the out-of-band helpers call "").
// One read-write lock guards all of it: changes hold it alone, reads share
// it. Policy ids are 24 lower-case hex digits: 8 of
// Unix time (never going backwards) and 16 of a counter shared by every
// project and instance, so ids increase with creation order and "newest
// first" is descending id order. Binding records get ids from the same
// generator. Times are yyyyMMdd'T'HHmmss'Z' in UTC.
//
// A policy created without app_id belongs to the instance's default resource
// space, whose id is 28 letters and digits derived from a hash of the project
// id and the instance id: the same for an instance across restarts, with or
// without a state file. Any well-formed app_id is accepted; the mock does not
// know which resource spaces, devices or products exist.
//
// With [Config.StatePath] set (FILE), the state lives in FILE, a bbolt
// database (go.etcd.io/bbolt) created when missing, and memory. A change
// is answered only once a transaction holding it has committed, which
// syncs FILE: concurrent changes are committed in groups, since while one
// commit is under way the changes made meanwhile wait and the next commit
// covers all of them. Reads never wait on the disk, so a read may show a
// change whose commit is under way (and gone again if it fails). When a
// commit fails (a full disk, an unwritable directory), every change it
// covered is answered 500 and removed from memory, which is read back from
// FILE: a retry makes the change again and reaches the disk, or fails
// again. A
// request that changes nothing (binding a bound target) is answered only
// once the change it relies on is committed. When FILE is removed or
// replaced while the mock runs, the next write puts the committed state
// back at FILE first. Only one mock at a time can use FILE.
//
// At start the mock refuses, with the reason, a FILE that is not such a
// database (including the JSON state file of earlier versions: move it
// away to start afresh), that is cut short or damaged (bbolt's own check,
// a checksum on every record, and the same rules as the API), or that does
// not follow from the state the mock last committed: FILE.generation
// records the file's id and its number of commits, so an older copy of
// FILE, another state file, or a missing FILE is refused unless
// [Config.Recover] is set, which takes FILE as it is (or starts empty).
// Before the first change is committed there is nothing to lose, and
// nothing is refused.
// Temporary files a killed mock left behind (".FILE.tmp-*") are removed at
// start. The file holds every project, not only the configured one.
//
// # Eventual consistency
//
// With [Config.ReadLag] set (cmd/iotda-mock: -read-lag), reads lag behind
// writes as on a platform whose reads are served by replicas:
// ShowDevicePolicy, ListDevicePolicies and ShowTargetsInDevicePolicy see
// each instance as it was ReadLag ago. A policy created less than ReadLag
// ago is 404 on show and missing from the list, an update shows its old
// values, a target bound since then is not listed and one unbound since
// then still is, and a policy deleted less than ReadLag ago is still shown.
// Writes (create, update, delete, bind, unbind) act on the current state
// and answer with it at once: an update or bind of a policy just created
// succeeds, and a name just taken is refused. The out-of-band helpers
// ([Server.Policy] and the others) see the current state. The mock keeps,
// per instance, a copy of the instance before each change of the last
// ReadLag, so memory grows with the writes made within one lag. The clock
// is [Config.Now], which tests move forward instead of sleeping.
//
// # Authentication
//
// A request authenticates with an X-Auth-Token equal to one of
// [Config.Tokens] (checked first, when the header is present), or with an
// AK/SK signature of either algorithm checked by the signer package's
// Verifier (15 minutes of clock skew; the signed-header list is the
// client's, with or without host). The body verified is exactly the bytes
// received: an X-Sdk-Content-Sha256 header counts only when it is signed,
// and then only as UNSIGNED-PAYLOAD or as the SHA-256 of the body received,
// so a body changed after signing is rejected whatever hash comes with it.
// A derived (V11-HMAC-SHA256) signature must name the service "iotdm" in
// its scope; any region is accepted.
//
// As the gateway does, the signature covers the headers its SignedHeaders
// names and nothing else: X-Project-Id, X-Security-Token and Instance-Id may
// come unsigned. Real clients rely on it: the huaweicloud Terraform
// provider's HTTP library (chnsz/golangsdk) signs a request and then adds
// X-Project-Id, X-Domain-Id and, for a temporary key, X-Security-Token. An
// unsigned header is still checked for what it says: X-Project-Id must be
// the configured project (403), X-Security-Token must be the token of the
// access key, and Instance-Id must be well formed. A header that was signed
// cannot be changed afterwards (the signature no longer matches), and the
// body-hash rule above does not depend on the others being signed. Clients
// may sign any headers they send, content-type, accept and user-agent
// included, and need not send Content-Type on a request without a body.
//
// Query strings are read as the canonical request reads them: parameters
// are separated by "&" only, so a ";" is part of a key or value (Go's
// url.ParseQuery would refuse it) and every parameter acted on is covered
// by the signature. A credential with a
// SecurityToken is a temporary key: the request must carry that token in
// X-Security-Token. A permanent key sent with an X-Security-Token is
// rejected, as the gateway would look the key up among temporary ones.
// Every failure is 401 APIGW.0301 with the gateway's standard text followed
// by the reason; secrets are never echoed.
//
// # Validation
//
// Bodies are JSON objects; unknown fields are ignored, a body may end with
// white space (official clients send a final "\n"). Malformed JSON, a value
// of the wrong type, a body that is not an object, an empty body where one
// is needed, or a body with a Content-Type other than application/json is
// 400 IOTDA.000008. Broken rules are 400 IOTDA.000006 with an error_msg that
// names the field, e.g. `Invalid input. statement[1].resources[0] "topic:a b"
// contains a character other than letters, digits and /{}$=+#?*:._-.`.
// Pagination parameters out of range or malformed are 400 IOTDA.000017
// naming the parameter.
//
// The rules: policy_name 1..128 of [A-Za-z0-9_-] (ASCII); app_id at most 36
// of [A-Za-z0-9_-] (an empty app_id means none); statement 1..10 entries;
// effect exactly ALLOW or DENY; actions non-empty, each exactly
// iotda:devices:publish or iotda:devices:subscribe (so the documentation's
// "iotda:devices:publish\riotda:devices:subscribe" is rejected); resources
// 1..10, each starting with "topic:", made of ASCII letters, digits and
// /{}$=+#?*:._- only, with a topic part of 1..128 bytes; the statement list
// JSON-encoded (compact) at most 10240 bytes. Update takes policy_name and/or
// statement (null counts as absent); with neither it is 400 IOTDA.000006, and
// an app_id in its body is ignored like any unknown field. Bind and unbind:
// target_type device, product or app; target_ids 1..20.
//
// # Listing
//
// List and list-targets page exactly as the reference says: newest first;
// only records whose id is below the marker; offset skips records after the
// marker; limit 1..50 (default 10), offset 0..500 (default 0), marker 24 hex
// digits of either case (default ffffffffffffffffffffffff). page.count is
// the number of records matching the filters whatever the marker, offset
// and limit; page.marker is the id of the last record returned and is
// omitted when the page is empty. Empty lists are [] and list items carry no
// statement.
//
// ListDevicePolicies filters app_id by exact match and policy_name by
// case-sensitive substring match (the reference does not say which; clients
// that need an exact match must filter themselves); policy_name may have at
// most 256 characters. An empty query value counts as absent; for a repeated
// parameter the first value counts.
//
// ShowTargetsInDevicePolicy takes an empty body (or white space only), {}
// or a filter {target_type, limit, marker, offset}; "target_type": "" and
// "marker": "" count as absent, an explicit "limit": 0 is out of range. Each
// binding gets a record id when it is made; targets are listed newest
// binding first and page.marker is that record id (the reference does not
// say what the marker of a target is).
//
// # Choices of the mock
//
// Error codes and statuses the public material does not give, chosen here:
//
//	404 APIGW.0101    unknown path (not counted as a call of any operation)
//	405 APIGW.0101    known path, wrong method, with an Allow header (not counted)
//	403 IOTDA.000003  project_id in the path, or an X-Project-Id header, is not the configured project
//	404 IOTDA.015201  no policy with that id in the instance (well-formed or not)
//	400 IOTDA.015202  policy_name already used in the same resource space (on create, and on an update that renames)
//	400 IOTDA.015203  the 51st policy of an instance: "Operation not allowed. The number of device-policies
//	                  in the instance reaches the upper limit (50)."
//	400 IOTDA.000006  Instance-Id header that is not 1..64 of [A-Za-z0-9_-]; target id that is not 1..128
//	                  of [A-Za-z0-9_-]; the same target id twice in one call; policy_name filter over 256
//	                  characters; app_id filter that is not a valid app_id
//	400 IOTDA.000008  body over 1 MiB (answered after the authentication checks that need no body, and,
//	                  when Content-Length announces it, without reading the body); a body that cannot be
//	                  read (malformed chunked encoding, shorter than announced); query string that
//	                  cannot be parsed
//	429 APIGW.0308    an injected fault with status 429
//	nnn IOTDA.000nnn  an injected fault with any other status nnn (e.g. 503 IOTDA.000503)
//	408 IOTDA.000408  the request body did not arrive within the server's read timeout
//	503 IOTDA.000503  no body buffer came free within Config.BodyWait (with Retry-After: 1)
//	500 IOTDA.000500  the state file could not be written (the change is undone; see State)
//
// Behaviours chosen here:
//
//   - Binding a target that is already bound to the policy succeeds again
//     (idempotent) and keeps the original binding record.
//   - The limit of 5 policies per target applies to every target type
//     (device, product and app) and counts policies of the same instance; a
//     target is its type and id together, so device "x" and product "x"
//     differ.
//   - Deleting a policy removes its bindings.
//   - An X-Auth-Token header is checked before, and instead of, an
//     Authorization header.
//   - Routing uses the decoded path; a trailing slash or an empty segment is
//     an unknown path.
//
// # Test hooks
//
// Tests count calls ([Server.Calls]), inject faults ([Server.InjectFault],
// [Server.FailTarget]), add latency ([Server.SetLatency]) and change state
// as another user would ([Server.CreatePolicy] and the other helpers, which
// apply the API's rules but are not calls and are not subject to faults;
// their errors are [*Error] values with the status and code the API would
// answer).
package mock
