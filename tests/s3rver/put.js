// node put.js <port> <bucket> <key> <body>: creates the bucket if needed and
// puts one object with the AWS SDK, signed with s3rver's default credentials.
// Prints the PutObject response's ETag.
'use strict';
const { S3Client, CreateBucketCommand, PutObjectCommand } = require('@aws-sdk/client-s3');

async function main() {
  const [port, bucket, key, body] = process.argv.slice(2);
  const client = new S3Client({
    endpoint: 'http://127.0.0.1:' + port,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
  }
  const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  process.stdout.write(JSON.stringify({ etag: out.ETag }) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
