package deploycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Clouds the deployment templates cover.
const (
	Azure = "azure" // bicep/main.bicep app settings
	AWS   = "aws"   // infra/aws/template.yaml function environment
)

// OptionalSetting is a setting a deployment may leave unset, and why.
type OptionalSetting struct {
	Name       string   `json:"name"`
	OptionalIn []string `json:"optional_in"`
	Reason     string   `json:"reason"`
}

// Optional is optional-settings.json: the one list of settings the
// templates deliberately leave to their defaults.
type Optional struct {
	About    string            `json:"about"`
	Settings []OptionalSetting `json:"settings"`
}

// ParseOptional reads the list strictly: unknown fields, clouds or
// duplicates are errors, and every entry needs a reason.
func ParseOptional(b []byte) (*Optional, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var o Optional
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("optional-settings.json: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range o.Settings {
		if s.Name == "" || len(s.Reason) < 10 {
			return nil, fmt.Errorf("optional-settings.json: %q needs a name and a reason", s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("optional-settings.json: %s is listed twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.OptionalIn) == 0 {
			return nil, fmt.Errorf("optional-settings.json: %s: optional_in is empty", s.Name)
		}
		for _, c := range s.OptionalIn {
			if c != Azure && c != AWS {
				return nil, fmt.Errorf("optional-settings.json: %s: unknown cloud %q (azure or aws)", s.Name, c)
			}
		}
	}
	return &o, nil
}

// In reports whether name may be left unset on cloud.
func (o *Optional) In(name, cloud string) bool {
	for _, s := range o.Settings {
		if s.Name == name {
			return slices.Contains(s.OptionalIn, cloud)
		}
	}
	return false
}
