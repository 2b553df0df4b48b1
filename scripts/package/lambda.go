package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// LambdaArch is the default architecture of the Lambda function: Graviton
// (arm64) costs less per GB-second than x86_64 for the same Go code. The
// SAM template's Architectures must say the same (a test checks).
const LambdaArch = "arm64"

// LambdaZip is the Lambda package's file name in the output folder.
const LambdaZip = "behalf-lambda.zip"

// runLambda builds bootstrap — the custom runtime's entry point, which
// Lambda starts with no arguments and AWS_LAMBDA_RUNTIME_API set, so the
// binary runs `behalf lambda` by itself — and zips it alone at the root.
func runLambda(root, out, version, arch string) error {
	if arch != "arm64" && arch != "amd64" {
		return fmt.Errorf("lambda architecture %q: want arm64 or amd64", arch)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "behalf-package-lambda-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bootstrap")
	// lambda.norpc drops aws-lambda-go's go1.x RPC mode, which
	// provided.al2023 never uses; no devstack tag: the emulators never ship.
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w -X main.version="+version, "-o", bin, "./functions")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build (lambda): %w", err)
	}
	zipPath := filepath.Join(out, LambdaZip)
	if err := writeZip(zipPath, map[string]string{"bootstrap": bin}); err != nil {
		return err
	}
	fmt.Println("wrote", zipPath)
	return nil
}
