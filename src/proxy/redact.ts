// The proxy's redaction of the server's credentials and the tokens it signed: the SDK's one redaction (src/redact.ts).
export { createRedactor, type Redactor } from "../redact.js";
