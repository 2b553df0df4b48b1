package lambdahost

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManagerAPI is the one Secrets Manager call behalf makes.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManager reads secrets with the AWS SDK.
type SecretsManager struct {
	API SecretsManagerAPI
}

// NewSecretsManager builds a client from the SDK's default configuration:
// on Lambda, the execution role's credentials and AWS_REGION from the
// environment. opts adjust the configuration (tests point it at a local
// endpoint).
func NewSecretsManager(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (*SecretsManager, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	return &SecretsManager{API: secretsmanager.NewFromConfig(cfg)}, nil
}

// SecretString implements SecretSource.
func (s *SecretsManager) SecretString(ctx context.Context, arn string) (string, error) {
	out, err := s.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", err
	}
	if out.SecretString == nil {
		return "", errors.New("the secret holds binary data; store the value as a secret string")
	}
	return *out.SecretString, nil
}
