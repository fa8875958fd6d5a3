// Silence the AWS SDK's Node-version notice and keep Powertools quiet unless asked.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
if (!process.env.POWERTOOLS_LOG_LEVEL) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
// Powertools Metrics writes embedded-metric lines to stdout; tests that check them enable it.
if (!process.env.POWERTOOLS_METRICS_DISABLED) process.env.POWERTOOLS_METRICS_DISABLED = 'true';
