<?php
/**
 * The person's browser, driven with curl: one cookie jar for its whole life, redirects
 * followed one hop at a time so the test sees where each one goes.
 */

declare(strict_types=1);

namespace Socialgate\Tests;

final class Browser
{
    private \CurlHandle $curl;

    public function __construct()
    {
        $this->curl = curl_init();
        curl_setopt_array($this->curl, [
            CURLOPT_COOKIEFILE => '',          // the cookie engine, in memory
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_TIMEOUT => 10,
        ]);
    }

    /** @return array{status: int, location: ?string, body: string} */
    public function get(string $url): array
    {
        curl_setopt($this->curl, CURLOPT_URL, $url);
        curl_setopt($this->curl, CURLOPT_HTTPGET, true);
        $body = curl_exec($this->curl);
        if ($body === false) {
            throw new \RuntimeException("GET $url: " . curl_error($this->curl));
        }
        $location = curl_getinfo($this->curl, CURLINFO_REDIRECT_URL);
        return [
            'status' => (int) curl_getinfo($this->curl, CURLINFO_RESPONSE_CODE),
            'location' => is_string($location) && $location !== '' ? $location : null,
            'body' => (string) $body,
        ];
    }

    /**
     * Follows redirects from `$url` (the gateway, the network, the gateway again) and stops
     * at the first one to `$site`, which it does not request: the site's redirect URI.
     */
    public function followTo(string $url, string $site): string
    {
        for ($hop = 0; $hop < 10; $hop++) {
            $answer = $this->get($url);
            if ($answer['location'] === null) {
                throw new \RuntimeException("$url answered {$answer['status']} instead of a redirect: "
                    . substr($answer['body'], 0, 300));
            }
            if (str_starts_with($answer['location'], $site)) {
                return $answer['location'];
            }
            $url = $answer['location'];
        }
        throw new \RuntimeException("too many redirects from $url");
    }

    /** The query parameters of a URL. */
    public static function query(string $url): array
    {
        parse_str((string) parse_url($url, PHP_URL_QUERY), $params);
        return $params;
    }
}
