# SPDX-License-Identifier: Apache-2.0
"""start and stop as django-broadcast implemented them: a DRF view, the ORM,
and STS GetFederationToken with an inline policy for the stream's folder."""
import json

import boto3
from django.conf import settings
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from peer.models import Stream

DATE = "%Y-%m-%d %H:%M:%S"
_sts = None


def sts():
    # One client per worker process: creating one per request would cost the
    # peer more than the original's callers paid per stream.
    global _sts
    if _sts is None:
        _sts = boto3.client("sts", endpoint_url=settings.STS_ENDPOINT,
                            region_name=settings.STS_REGION,
                            aws_access_key_id=settings.AWS_ACCESS_KEY,
                            aws_secret_access_key=settings.AWS_ACCESS_SECRET)
    return _sts


class StreamSerializer(serializers.ModelSerializer):
    start_date = serializers.DateTimeField(format=DATE)

    class Meta:
        model = Stream
        fields = ["id", "name", "start_date"]


class StoppedStreamSerializer(serializers.ModelSerializer):
    start_date = serializers.DateTimeField(format=DATE)
    stop_date = serializers.DateTimeField(format=DATE)

    class Meta:
        model = Stream
        fields = ["id", "name", "start_date", "stop_date"]


def _param(request, key, default=None):
    return request.query_params.get(key, request.data.get(key, default))


class StartView(APIView):
    def post(self, request):
        kind = _param(request, "type", "hls")
        if kind != "hls":
            return Response({"error": {"code": "stream.bad_type", "message": "type: hls"}},
                            status=status.HTTP_400_BAD_REQUEST)
        owner = "anonymous"
        stream = Stream.objects.create(name=_param(request, "name", ""), type=kind, owner=owner)
        path = "%s/%s/" % (owner, stream.id)
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"],
            "Resource": ["arn:aws:s3:::%s/%s*" % (settings.S3_BUCKET, path)]}]}
        creds = sts().get_federation_token(Name=owner[:32], Policy=json.dumps(policy),
                                           DurationSeconds=129600)["Credentials"]
        return Response({"stream": StreamSerializer(stream).data, "endpoint": {"S3": {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
            "aws_expiration": 129600.0,
            "s3_bucket_name": settings.S3_BUCKET,
            "s3_bucket_path": path,
            "s3_bucket_region": settings.STS_REGION}}})


class StopView(APIView):
    def post(self, request):
        try:
            stream = Stream.objects.get(id=_param(request, "id"))
        except (Stream.DoesNotExist, ValueError, serializers.ValidationError):
            return Response({"error": {"code": "stream.not_found", "message": "no such stream"}},
                            status=status.HTTP_404_NOT_FOUND)
        if not stream.is_live:
            return Response({"error": {"code": "stream.already_stopped",
                                       "message": "already stopped"}},
                            status=status.HTTP_409_CONFLICT)
        stream.is_live = False
        stream.stop_date = timezone.now()
        stream.save(update_fields=["is_live", "stop_date"])
        return Response({"stream": StoppedStreamSerializer(stream).data})
