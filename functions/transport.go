package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"time"
)

// transportWith is the outbound transport for the IdP: it trusts roots and
// ignores proxy environment variables (tokens must not transit a proxy
// nobody configured for behalf).
func transportWith(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}
