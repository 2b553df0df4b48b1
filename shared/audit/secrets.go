package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/behalf-dev/behalf/shared/logging"
)

// Credential shapes beyond the JWT and bearer patterns shared/logging
// already redacts: Databricks personal access tokens, storage and Service
// Bus keys in connection strings, SAS signatures and Teams webhook URLs.
var extraSecretShapes = []*regexp.Regexp{
	regexp.MustCompile(`\bdapi[0-9a-f]{32}(-[0-9]+)?\b`),
	regexp.MustCompile(`(?i)\b(SharedAccessKey|AccountKey|SharedAccessSignature)\s*=\s*[A-Za-z0-9+/=%]{16,}`),
	regexp.MustCompile(`(?i)[?&]sig=[A-Za-z0-9%+/=]{16,}`),
	regexp.MustCompile(`(?i)https://[a-z0-9.-]*webhook\.office\.com/\S+`),
}

// redactedSecret replaces the extra shapes.
const redactedSecret = "[REDACTED]"

// ContainsSecret reports whether s holds text shaped like a credential:
// a JWT, "Bearer <token>", a Databricks token, a storage or Service Bus
// key, a SAS signature or a webhook URL.
func ContainsSecret(s string) bool {
	if s == "" {
		return false
	}
	if logging.RedactString(s) != s {
		return true
	}
	for _, re := range extraSecretShapes {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// RedactSecrets replaces every credential-shaped part of s.
func RedactSecrets(s string) string {
	s = logging.RedactString(s)
	for _, re := range extraSecretShapes {
		s = re.ReplaceAllString(s, redactedSecret)
	}
	return s
}

// Finding is one credential-shaped string found by ScanJSON.
type Finding struct {
	// Path is where it was, e.g. "event.actor.upn" or "[3].statement".
	Path string
}

// ScanJSON walks a JSON document (a record, an export line, a whole
// response) and reports every string value or object key that holds
// credential-shaped text. The end-to-end tests run it over every record;
// it never returns the text itself.
func ScanJSON(b []byte) ([]Finding, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("audit: scan: %w", err)
	}
	var out []Finding
	scanValue("", v, &out)
	return out, nil
}

func scanValue(path string, v any, out *[]Finding) {
	switch x := v.(type) {
	case string:
		if ContainsSecret(x) {
			*out = append(*out, Finding{Path: path})
		}
	case []any:
		for i, e := range x {
			scanValue(fmt.Sprintf("%s[%d]", path, i), e, out)
		}
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if ContainsSecret(k) {
				*out = append(*out, Finding{Path: p + " (key)"})
			}
			scanValue(p, e, out)
		}
	}
}

// ScanRecords checks every record (its stored event bytes and its parsed
// form) and returns an error naming each record that holds
// credential-shaped text.
func ScanRecords(recs []Record) error {
	var bad []string
	for _, r := range recs {
		line, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		fs, err := ScanJSON(line)
		if err != nil {
			return err
		}
		for _, f := range fs {
			bad = append(bad, fmt.Sprintf("seq %d at %s", r.Seq, f.Path))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("audit: credential-shaped text in records: %v", bad)
	}
	return nil
}
