// Generated from openapi/openapi.yaml by `npm run generate` (scripts/generate-mock-data.ts): do not edit.
// The mock engine's view of the spec: each operation's request facts and its named response examples.

export interface MockOperation {
  method: "GET" | "POST";
  /** The spec's path template, e.g. `/v1/audio/video-to-audio/{task_id}`. */
  path: string;
  bodyRequired: boolean;
  /** Every property the request body schema names (for "did you mean"). */
  bodyFields: readonly string[];
  /** Fields that each pick one `oneOf` branch (`video_id`, `video_url`): exactly one must be given. */
  branchFields: readonly string[];
  /** Query parameter names as the spec spells them. */
  queryNames: readonly string[];
  /** Named response examples: status → example name → body, in the spec's order. */
  responses: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export const MOCK_OPERATIONS: Readonly<Record<"createTask" | "listTasks" | "getTask", MockOperation>> = {
  "listTasks": {
    "method": "GET",
    "path": "/v1/audio/video-to-audio",
    "bodyRequired": false,
    "bodyFields": [],
    "branchFields": [],
    "queryNames": [
      "pageNum",
      "pageSize"
    ],
    "responses": {
      "200": {
        "page": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "5b0f2b4c-7a0e-4c1e-9d1f-2a4de3c1b7aa",
          "data": [
            {
              "task_id": "866889456698785798",
              "task_status": "succeed",
              "task_status_msg": "",
              "task_info": {
                "external_task_id": "job-2026-11-24-0001",
                "parent_video": {
                  "id": "",
                  "url": "https://example.com/videos/rainy-street.mp4",
                  "duration": "7.0"
                }
              },
              "task_result": {
                "videos": [
                  {
                    "id": "866889812345671234",
                    "url": "https://cdn.klingai.example/v2a/866889456698785798/merged.mp4",
                    "duration": "7.0"
                  }
                ],
                "audios": [
                  {
                    "id": "866889812345671235",
                    "url_mp3": "https://cdn.klingai.example/v2a/866889456698785798/audio.mp3",
                    "url_wav": "https://cdn.klingai.example/v2a/866889456698785798/audio.wav",
                    "duration_mp3": "7.042",
                    "duration_wav": "7.000"
                  }
                ]
              },
              "final_unit_deduction": "0.25",
              "created_at": 1764024357708,
              "updated_at": 1764024390000
            },
            {
              "task_id": "866889456698785811",
              "task_status": "processing",
              "task_status_msg": "",
              "task_info": {
                "external_task_id": "job-2026-11-24-0002"
              },
              "created_at": 1764024411000,
              "updated_at": 1764024415300
            },
            {
              "task_id": "866889456698785823",
              "task_status": "submitted",
              "task_status_msg": "",
              "task_info": {
                "external_task_id": "job-2026-11-24-0003"
              },
              "created_at": 1764024430100,
              "updated_at": 1764024430100
            },
            {
              "task_id": "866889456698785836",
              "task_status": "failed",
              "task_status_msg": "Video duration must be between 3 and 20 seconds",
              "task_info": {
                "external_task_id": "job-2026-11-24-0004"
              },
              "created_at": 1764024502000,
              "updated_at": 1764024506400
            }
          ]
        },
        "empty": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "0c9e8f6a-51d2-4f4b-8e7c-33a1b2c4d5e6",
          "data": []
        }
      },
      "400": {
        "1201_invalid_parameter": {
          "code": 1201,
          "message": "Invalid parameter: the request does not match the API schema",
          "request_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
        },
        "1200_invalid_request": {
          "code": 1200,
          "message": "Invalid request",
          "request_id": "4c5d6e7f-8091-4a2b-b3c4-d5e6f7081920"
        },
        "1300_platform_policy": {
          "code": 1300,
          "message": "Request blocked by platform policy",
          "request_id": "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3"
        },
        "1301_content_safety": {
          "code": 1301,
          "message": "Content safety check failed",
          "request_id": "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
        }
      },
      "401": {
        "1001_authorization_empty": {
          "code": 1001,
          "message": "Authorization is empty",
          "request_id": "1b2c3d4e-5f60-4718-89a0-b1c2d3e4f506"
        },
        "1000_authentication_failed": {
          "code": 1000,
          "message": "Authentication failed",
          "request_id": "2c3d4e5f-6071-4829-9ab1-c2d3e4f50617"
        },
        "1002_authorization_invalid": {
          "code": 1002,
          "message": "Authorization is invalid",
          "request_id": "3d4e5f60-7182-493a-abc2-d3e4f5061728"
        },
        "1003_token_not_yet_valid": {
          "code": 1003,
          "message": "Authorization is not yet valid",
          "request_id": "4e5f6071-8293-4a4b-bcd3-e4f506172839"
        },
        "1004_token_expired": {
          "code": 1004,
          "message": "Authorization has expired",
          "request_id": "5f607182-93a4-4b5c-8de4-f5061728394a"
        }
      },
      "403": {
        "1103_no_permission": {
          "code": 1103,
          "message": "No permission to access this API",
          "request_id": "60718293-a4b5-4c6d-9ef5-06172839405b"
        }
      },
      "404": {
        "1203_task_not_found": {
          "code": 1203,
          "message": "Task not found",
          "request_id": "718293a4-b5c6-4d7e-8f06-172839405a6c"
        },
        "1202_invalid_method": {
          "code": 1202,
          "message": "Invalid request method",
          "request_id": "8293a4b5-c6d7-4e8f-9017-2839405a6b7d"
        }
      },
      "429": {
        "1303_concurrency_limit": {
          "code": 1303,
          "message": "parallel task over resource pack limit",
          "request_id": "9984d27b-a408-4073-ae28-17ca6a13622d"
        },
        "1302_rate_limit": {
          "code": 1302,
          "message": "request rate too high",
          "request_id": "93a4b5c6-d7e8-4f90-a128-39405a6b7c8e"
        },
        "1100_account_abnormal": {
          "code": 1100,
          "message": "Account exception",
          "request_id": "a4b5c6d7-e8f9-4a01-b239-405a6b7c8d9f"
        },
        "1101_account_in_arrears": {
          "code": 1101,
          "message": "Account in arrears",
          "request_id": "b5c6d7e8-f90a-4b12-834a-5a6b7c8d9e0a"
        },
        "1102_resource_pack_exhausted": {
          "code": 1102,
          "message": "Resource pack exhausted or expired",
          "request_id": "c6d7e8f9-0a1b-4c23-945b-6b7c8d9e0f1b"
        },
        "1304_ip_not_whitelisted": {
          "code": 1304,
          "message": "IP not in whitelist",
          "request_id": "d7e8f90a-1b2c-4d34-a56c-7c8d9e0f1a2c"
        }
      },
      "500": {
        "5000_internal_error": {
          "code": 5000,
          "message": "Internal server error",
          "request_id": "e8f90a1b-2c3d-4e45-b67d-8d9e0f1a2b3d"
        }
      },
      "503": {
        "5001_service_unavailable": {
          "code": 5001,
          "message": "Service temporarily unavailable",
          "request_id": "f90a1b2c-3d4e-4f56-878e-9e0f1a2b3c4e"
        }
      },
      "504": {
        "5002_server_timeout": {
          "code": 5002,
          "message": "Server timeout",
          "request_id": "0a1b2c3d-4e5f-4067-989f-0f1a2b3c4d5f"
        }
      }
    }
  },
  "createTask": {
    "method": "POST",
    "path": "/v1/audio/video-to-audio",
    "bodyRequired": true,
    "bodyFields": [
      "sound_effect_prompt",
      "bgm_prompt",
      "asmr_mode",
      "external_task_id",
      "callback_url",
      "video_id",
      "video_url"
    ],
    "branchFields": [
      "video_id",
      "video_url"
    ],
    "queryNames": [],
    "responses": {
      "200": {
        "submitted": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "3d67a2e2-cec7-4571-ba0d-556668ff7e82",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "submitted",
            "task_info": {
              "external_task_id": "job-2026-11-24-0001"
            },
            "created_at": 1764024357708,
            "updated_at": 1764024357708
          }
        },
        "gateway": {
          "code": 0,
          "message": "SUCCEED",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "submitted",
            "created_at": 1764024357708,
            "updated_at": 1764024357708
          }
        }
      },
      "400": {
        "1201_invalid_parameter": {
          "code": 1201,
          "message": "Invalid parameter: the request does not match the API schema",
          "request_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
        },
        "1200_invalid_request": {
          "code": 1200,
          "message": "Invalid request",
          "request_id": "4c5d6e7f-8091-4a2b-b3c4-d5e6f7081920"
        },
        "1300_platform_policy": {
          "code": 1300,
          "message": "Request blocked by platform policy",
          "request_id": "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3"
        },
        "1301_content_safety": {
          "code": 1301,
          "message": "Content safety check failed",
          "request_id": "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
        }
      },
      "401": {
        "1001_authorization_empty": {
          "code": 1001,
          "message": "Authorization is empty",
          "request_id": "1b2c3d4e-5f60-4718-89a0-b1c2d3e4f506"
        },
        "1000_authentication_failed": {
          "code": 1000,
          "message": "Authentication failed",
          "request_id": "2c3d4e5f-6071-4829-9ab1-c2d3e4f50617"
        },
        "1002_authorization_invalid": {
          "code": 1002,
          "message": "Authorization is invalid",
          "request_id": "3d4e5f60-7182-493a-abc2-d3e4f5061728"
        },
        "1003_token_not_yet_valid": {
          "code": 1003,
          "message": "Authorization is not yet valid",
          "request_id": "4e5f6071-8293-4a4b-bcd3-e4f506172839"
        },
        "1004_token_expired": {
          "code": 1004,
          "message": "Authorization has expired",
          "request_id": "5f607182-93a4-4b5c-8de4-f5061728394a"
        }
      },
      "403": {
        "1103_no_permission": {
          "code": 1103,
          "message": "No permission to access this API",
          "request_id": "60718293-a4b5-4c6d-9ef5-06172839405b"
        }
      },
      "404": {
        "1203_task_not_found": {
          "code": 1203,
          "message": "Task not found",
          "request_id": "718293a4-b5c6-4d7e-8f06-172839405a6c"
        },
        "1202_invalid_method": {
          "code": 1202,
          "message": "Invalid request method",
          "request_id": "8293a4b5-c6d7-4e8f-9017-2839405a6b7d"
        }
      },
      "429": {
        "1303_concurrency_limit": {
          "code": 1303,
          "message": "parallel task over resource pack limit",
          "request_id": "9984d27b-a408-4073-ae28-17ca6a13622d"
        },
        "1302_rate_limit": {
          "code": 1302,
          "message": "request rate too high",
          "request_id": "93a4b5c6-d7e8-4f90-a128-39405a6b7c8e"
        },
        "1100_account_abnormal": {
          "code": 1100,
          "message": "Account exception",
          "request_id": "a4b5c6d7-e8f9-4a01-b239-405a6b7c8d9f"
        },
        "1101_account_in_arrears": {
          "code": 1101,
          "message": "Account in arrears",
          "request_id": "b5c6d7e8-f90a-4b12-834a-5a6b7c8d9e0a"
        },
        "1102_resource_pack_exhausted": {
          "code": 1102,
          "message": "Resource pack exhausted or expired",
          "request_id": "c6d7e8f9-0a1b-4c23-945b-6b7c8d9e0f1b"
        },
        "1304_ip_not_whitelisted": {
          "code": 1304,
          "message": "IP not in whitelist",
          "request_id": "d7e8f90a-1b2c-4d34-a56c-7c8d9e0f1a2c"
        }
      },
      "500": {
        "5000_internal_error": {
          "code": 5000,
          "message": "Internal server error",
          "request_id": "e8f90a1b-2c3d-4e45-b67d-8d9e0f1a2b3d"
        }
      },
      "503": {
        "5001_service_unavailable": {
          "code": 5001,
          "message": "Service temporarily unavailable",
          "request_id": "f90a1b2c-3d4e-4f56-878e-9e0f1a2b3c4e"
        }
      },
      "504": {
        "5002_server_timeout": {
          "code": 5002,
          "message": "Server timeout",
          "request_id": "0a1b2c3d-4e5f-4067-989f-0f1a2b3c4d5f"
        }
      }
    }
  },
  "getTask": {
    "method": "GET",
    "path": "/v1/audio/video-to-audio/{task_id}",
    "bodyRequired": false,
    "bodyFields": [],
    "branchFields": [],
    "queryNames": [],
    "responses": {
      "200": {
        "succeed": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "9ab376fc-9059-487f-9e2a-c9c89f1a344f",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "succeed",
            "task_status_msg": "",
            "task_info": {
              "external_task_id": "job-2026-11-24-0001",
              "parent_video": {
                "id": "",
                "url": "https://example.com/videos/rainy-street.mp4",
                "duration": "7.0"
              }
            },
            "task_result": {
              "videos": [
                {
                  "id": "866889812345671234",
                  "url": "https://cdn.klingai.example/v2a/866889456698785798/merged.mp4",
                  "duration": "7.0"
                }
              ],
              "audios": [
                {
                  "id": "866889812345671235",
                  "url_mp3": "https://cdn.klingai.example/v2a/866889456698785798/audio.mp3",
                  "url_wav": "https://cdn.klingai.example/v2a/866889456698785798/audio.wav",
                  "duration_mp3": "7.042",
                  "duration_wav": "7.000"
                }
              ]
            },
            "final_unit_deduction": "0.25",
            "final_balance_deduction": {
              "quota": "0.35",
              "list_price": "0.35"
            },
            "created_at": 1764024357708,
            "updated_at": 1764024390000
          }
        },
        "submitted": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "1f6c2d3e-8a9b-4c5d-9e0f-a1b2c3d4e5f6",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "submitted",
            "task_status_msg": "",
            "task_info": {
              "external_task_id": "job-2026-11-24-0001"
            },
            "created_at": 1764024357708,
            "updated_at": 1764024357708
          }
        },
        "processing": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "7e8f9a0b-1c2d-4e3f-8a5b-6c7d8e9f0a1b",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "processing",
            "task_status_msg": "",
            "task_info": {
              "external_task_id": "job-2026-11-24-0001"
            },
            "created_at": 1764024357708,
            "updated_at": 1764024361200
          }
        },
        "failed": {
          "code": 0,
          "message": "SUCCEED",
          "request_id": "2b3c4d5e-6f70-4819-a2b3-c4d5e6f7a8b9",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "failed",
            "task_status_msg": "Video duration must be between 3 and 20 seconds",
            "task_info": {
              "external_task_id": "job-2026-11-24-0001"
            },
            "created_at": 1764024357708,
            "updated_at": 1764024362900
          }
        },
        "gateway": {
          "code": 0,
          "message": "SUCCEED",
          "data": {
            "task_id": "866889456698785798",
            "task_status": "succeed",
            "task_result": {
              "audios": [
                {
                  "id": "866889812345671235",
                  "url_mp3": "https://cdn.klingai.example/v2a/866889456698785798/audio.mp3",
                  "url_wav": "https://cdn.klingai.example/v2a/866889456698785798/audio.wav",
                  "duration_mp3": "7.042",
                  "duration_wav": "7.000"
                }
              ]
            },
            "created_at": 1764024357708,
            "updated_at": 1764024390000
          }
        }
      },
      "400": {
        "1201_invalid_parameter": {
          "code": 1201,
          "message": "Invalid parameter: the request does not match the API schema",
          "request_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
        },
        "1200_invalid_request": {
          "code": 1200,
          "message": "Invalid request",
          "request_id": "4c5d6e7f-8091-4a2b-b3c4-d5e6f7081920"
        },
        "1300_platform_policy": {
          "code": 1300,
          "message": "Request blocked by platform policy",
          "request_id": "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3"
        },
        "1301_content_safety": {
          "code": 1301,
          "message": "Content safety check failed",
          "request_id": "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
        }
      },
      "401": {
        "1001_authorization_empty": {
          "code": 1001,
          "message": "Authorization is empty",
          "request_id": "1b2c3d4e-5f60-4718-89a0-b1c2d3e4f506"
        },
        "1000_authentication_failed": {
          "code": 1000,
          "message": "Authentication failed",
          "request_id": "2c3d4e5f-6071-4829-9ab1-c2d3e4f50617"
        },
        "1002_authorization_invalid": {
          "code": 1002,
          "message": "Authorization is invalid",
          "request_id": "3d4e5f60-7182-493a-abc2-d3e4f5061728"
        },
        "1003_token_not_yet_valid": {
          "code": 1003,
          "message": "Authorization is not yet valid",
          "request_id": "4e5f6071-8293-4a4b-bcd3-e4f506172839"
        },
        "1004_token_expired": {
          "code": 1004,
          "message": "Authorization has expired",
          "request_id": "5f607182-93a4-4b5c-8de4-f5061728394a"
        }
      },
      "403": {
        "1103_no_permission": {
          "code": 1103,
          "message": "No permission to access this API",
          "request_id": "60718293-a4b5-4c6d-9ef5-06172839405b"
        }
      },
      "404": {
        "1203_task_not_found": {
          "code": 1203,
          "message": "Task not found",
          "request_id": "718293a4-b5c6-4d7e-8f06-172839405a6c"
        },
        "1202_invalid_method": {
          "code": 1202,
          "message": "Invalid request method",
          "request_id": "8293a4b5-c6d7-4e8f-9017-2839405a6b7d"
        }
      },
      "429": {
        "1303_concurrency_limit": {
          "code": 1303,
          "message": "parallel task over resource pack limit",
          "request_id": "9984d27b-a408-4073-ae28-17ca6a13622d"
        },
        "1302_rate_limit": {
          "code": 1302,
          "message": "request rate too high",
          "request_id": "93a4b5c6-d7e8-4f90-a128-39405a6b7c8e"
        },
        "1100_account_abnormal": {
          "code": 1100,
          "message": "Account exception",
          "request_id": "a4b5c6d7-e8f9-4a01-b239-405a6b7c8d9f"
        },
        "1101_account_in_arrears": {
          "code": 1101,
          "message": "Account in arrears",
          "request_id": "b5c6d7e8-f90a-4b12-834a-5a6b7c8d9e0a"
        },
        "1102_resource_pack_exhausted": {
          "code": 1102,
          "message": "Resource pack exhausted or expired",
          "request_id": "c6d7e8f9-0a1b-4c23-945b-6b7c8d9e0f1b"
        },
        "1304_ip_not_whitelisted": {
          "code": 1304,
          "message": "IP not in whitelist",
          "request_id": "d7e8f90a-1b2c-4d34-a56c-7c8d9e0f1a2c"
        }
      },
      "500": {
        "5000_internal_error": {
          "code": 5000,
          "message": "Internal server error",
          "request_id": "e8f90a1b-2c3d-4e45-b67d-8d9e0f1a2b3d"
        }
      },
      "503": {
        "5001_service_unavailable": {
          "code": 5001,
          "message": "Service temporarily unavailable",
          "request_id": "f90a1b2c-3d4e-4f56-878e-9e0f1a2b3c4e"
        }
      },
      "504": {
        "5002_server_timeout": {
          "code": 5002,
          "message": "Server timeout",
          "request_id": "0a1b2c3d-4e5f-4067-989f-0f1a2b3c4d5f"
        }
      }
    }
  }
};
