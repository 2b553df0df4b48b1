package teams

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrInvalidWebhookURL means the configured webhook URL is unusable. The
// message never repeats the URL: it is a credential.
var ErrInvalidWebhookURL = errors.New("teams: invalid webhook URL")

const maxWebhookURLBytes = 4096

// webhookURL is the parsed webhook URL together with everything secret in
// it, so that any text about a request can be scrubbed before it is
// logged or returned.
type webhookURL struct {
	raw     string
	host    string
	secrets []string // longest first
}

// parseWebhookURL accepts https URLs, and http only on a loopback host
// (the dev stack's recorder). User info and fragments are refused.
func parseWebhookURL(raw string) (*webhookURL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: it is empty", ErrInvalidWebhookURL)
	}
	if len(raw) > maxWebhookURLBytes {
		return nil, fmt.Errorf("%w: it is longer than %d bytes", ErrInvalidWebhookURL, maxWebhookURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the input; say only that it did not parse.
		return nil, fmt.Errorf("%w: it does not parse as a URL", ErrInvalidWebhookURL)
	}
	switch {
	case !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("%w: it must be an absolute URL with a host", ErrInvalidWebhookURL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: it must not carry user info", ErrInvalidWebhookURL)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("%w: it must not have a fragment", ErrInvalidWebhookURL)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("%w: it must use https (http only on 127.0.0.1 or localhost), not %q", ErrInvalidWebhookURL, safeScheme(u.Scheme))
	}
	w := &webhookURL{raw: raw, host: u.Host}
	w.addSecret(raw)
	w.addSecret(u.String())
	// The query carries the sig= credential of Workflows URLs; legacy
	// connector URLs carry it in the path. Both are scrubbed whole, and
	// every query value on its own (a server may echo just sig).
	w.addSecret(u.RawQuery)
	w.addSecret(u.EscapedPath())
	w.addSecret(u.Path)
	for k, vs := range u.Query() {
		minLen := 16
		if credentialKey(k) {
			minLen = 4
		}
		for _, v := range vs {
			w.addSecretMin(v, minLen)
			w.addSecretMin(url.QueryEscape(v), minLen)
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		w.addSecret(seg)
	}
	return w, nil
}

// addSecret records s to be scrubbed; short strings (like "1.0" or
// "invoke") are not secrets and scrubbing them would garble messages.
func (w *webhookURL) addSecret(s string) { w.addSecretMin(s, 16) }

func (w *webhookURL) addSecretMin(s string, minLen int) {
	if len(s) < minLen {
		return
	}
	for _, have := range w.secrets {
		if have == s {
			return
		}
	}
	w.secrets = append(w.secrets, s)
	// Longest first, so a whole URL is replaced before its parts.
	for i := len(w.secrets) - 1; i > 0 && len(w.secrets[i]) > len(w.secrets[i-1]); i-- {
		w.secrets[i], w.secrets[i-1] = w.secrets[i-1], w.secrets[i]
	}
}

// credentialKey reports query parameters that hold credentials whatever
// their length (sig on Workflows URLs).
func credentialKey(k string) bool {
	k = strings.ToLower(k)
	for _, c := range []string{"sig", "key", "token", "secret", "code", "password"} {
		if strings.Contains(k, c) {
			return true
		}
	}
	return false
}

// scrub removes every secret part of the URL from s.
func (w *webhookURL) scrub(s string) string {
	for _, sec := range w.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// safeScheme keeps an error message from echoing anything odd.
func safeScheme(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// RedactWebhookURL returns a form of a webhook URL that is safe to print
// (scheme and host only), for configuration checks and banners. It returns
// "(invalid URL)" for anything that does not parse.
func RedactWebhookURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/[REDACTED]"
}
