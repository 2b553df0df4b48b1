// Package e2e holds end-to-end tests that start the offline emulators and
// drive behalf's production code through the real clients (MSAL Go,
// databricks-sdk-go). It has no non-test code of its own beyond this file.
package e2e
