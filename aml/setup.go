package aml

import (
	"context"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/service"
)

// Setup readies a server's data directory for the protocol: it gives svc
// the master key kept in dir (access.MasterKeyFile, made on first use) and
// makes sure the root access key pair exists, in the store and in dir's
// root-aws-credentials file, which AWS clients read as a credentials
// file. created says this call made the pair.
func Setup(ctx context.Context, svc *service.Service, dir string) (accessKeyID string, created bool, err error) {
	master, err := access.EnsureMasterKey(dir)
	if err != nil {
		return "", false, err
	}
	if err := svc.SetMasterKey(master); err != nil {
		return "", false, err
	}
	return svc.EnsureRootAWSKey(ctx, dir)
}
